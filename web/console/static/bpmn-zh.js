// Chinese words of bpmn-js 18's own interface (palette, context pad, replace menu, element type
// names, modeling and import errors) for the modeler's `translate` override. The base is the
// community dictionary bpmn-js-i18n (npm, served under /static/npm/); below are the entries it
// lacks for bpmn-js 18 and corrections where its wording is wrong or keeps English words.
import base from '/static/npm/bpmn-js-i18n/zn.js';

const MISSING = {
  'Ad-hoc sub-process': '临时子流程',
  'Align elements': '对齐元素',
  'Align elements bottom': '底部对齐',
  'Align elements center': '水平居中对齐',
  'Align elements left': '左对齐',
  'Align elements middle': '垂直居中对齐',
  'Align elements right': '右对齐',
  'Align elements top': '顶部对齐',
  'Append text annotation': '追加文本注释',
  'Boundary event': '边界事件',
  'Change element': '更改元素',
  'Data object must be placed within a pool/participant.': '数据对象必须放在池/参与者之内。',
  'Distribute elements horizontally': '水平等距分布',
  'Distribute elements vertically': '垂直等距分布',
  'Event based instantiating Gateway': '事件实例化网关',
  'Expanded pool/participant': '展开的池/参与者',
  'Parallel Event based instantiating Gateway': '并行事件实例化网关',
  'Toggle non-interrupting': '切换非中断',
  'no plane for {element}': '{element} 没有画布平面',
  'unknown di {di} for element {semantic}': '元素 {semantic} 的图形信息 {di} 未知',
  'unrecognized flowElement {element} in context {context}': '在 {context} 中无法识别的流程元素 {element}',
  'unsupported bpmnElement for {plane}: {rootElement}': '{plane} 不支持的元素：{rootElement}',
  '{semantic}#{side} Ref not specified': '{semantic} 未指定 {side} 引用',
};

const CORRECTIONS = {
  'Activate hand tool': '启用抓手工具',
  'Activate lasso tool': '启用套索工具',
  'Activate create/remove space tool': '启用创建/删除空间工具',
  'Activate global connect tool': '启用全局连接工具',
  'Ad-hoc': '临时',
  'Business rule task': '业务规则任务',
  'Call activity': '调用活动',
  'Connect using association': '使用关联连接',
  'Connect using data input association': '使用数据输入关联连接',
  'Connect using sequence/message flow or association': '使用顺序流/消息流或关联连接',
  'Create expanded sub-process': '创建展开的子流程',
  'Empty pool/participant': '空的池/参与者',
  'Empty pool/participant (removes content)': '空的池/参与者（删除内容）',
  'Exclusive gateway': '排他网关',
  'Receive task': '接收任务',
  'Sub-process (collapsed)': '子流程（折叠）',
  'Sub-process (expanded)': '子流程（展开）',
  'Terminate end event': '终止结束事件',
  'correcting missing bpmnElement on {plane} to {rootElement}': '将 {plane} 缺失的元素引用更正为 {rootElement}',
  'diagram not part of bpmn:Definitions': '图表不属于流程定义',
  'flow elements must be children of pools/participants': '流程元素必须放在池/参与者之内',
  'missing {semantic}#attachedToRef': '{semantic} 缺少附着目标',
  'multiple DI elements defined for {element}': '{element} 定义了多个图形信息',
  'no bpmnElement referenced in {element}': '{element} 没有引用任何流程元素',
  'no parent for {element} in {parent}': '{element} 在 {parent} 中没有父元素',
};

export default { ...base, ...MISSING, ...CORRECTIONS };
