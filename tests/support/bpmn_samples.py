"""Small BPMN documents for engine tests."""

from __future__ import annotations

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="t">"""


def one_task(
    script: str = "x = 1",
    timer: str = "'PT10M'",
    lane: str = "maintenance",
    form: str = "rescue_accept.json",
    key: str = "sample",
    condition: str = "x == 1",
) -> str:
    """start -> script -> gateway(condition) -> user task (boundary timer) -> end."""
    return f"""{HEAD}
  <bpmn:process id="{key}" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="l1" name="{lane}"><bpmn:flowNodeRef>work</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="calc" />
    <bpmn:scriptTask id="calc"><bpmn:script>{script}</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="f2" sourceRef="calc" targetRef="gw" />
    <bpmn:exclusiveGateway id="gw" default="f_else" />
    <bpmn:sequenceFlow id="f3" sourceRef="gw" targetRef="work"><bpmn:conditionExpression>{condition}</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_else" sourceRef="gw" targetRef="end" />
    <bpmn:userTask id="work" name="work">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formJsonSchemaFilename" value="{form}" />
      </spiffworkflow:properties></bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f4" sourceRef="work" targetRef="end" />
    <bpmn:boundaryEvent id="late" attachedToRef="work" cancelActivity="false">
      <bpmn:timerEventDefinition><bpmn:timeDuration>{timer}</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f5" sourceRef="late" targetRef="tell" />
    <bpmn:serviceTask id="tell">
      <bpmn:extensionElements><spiffworkflow:serviceTaskOperator id="notify" resultVariable="r">
        <spiffworkflow:parameters>
          <spiffworkflow:parameter id="roles" type="list" value="['district_regulator']" />
          <spiffworkflow:parameter id="message" type="str" value="'late'" />
        </spiffworkflow:parameters></spiffworkflow:serviceTaskOperator></bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:sequenceFlow id="f6" sourceRef="tell" targetRef="end2" />
    <bpmn:endEvent id="end2" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>"""


def cycle_and_intermediate(cycle: str = "'R3/PT10M'", wait: str = "'PT1H'", key: str = "ticker") -> str:
    """A user task with a repeating (cycle) reminder, then an intermediate timer before the end."""
    return f"""{HEAD}
  <bpmn:process id="{key}" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="l1" name="property"><bpmn:flowNodeRef>work</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work" />
    <bpmn:userTask id="work" name="work" />
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="pause" />
    <bpmn:intermediateCatchEvent id="pause">
      <bpmn:timerEventDefinition><bpmn:timeDuration>{wait}</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f3" sourceRef="pause" targetRef="end" />
    <bpmn:endEvent id="end" />
    <bpmn:boundaryEvent id="remind" attachedToRef="work" cancelActivity="false">
      <bpmn:timerEventDefinition><bpmn:timeCycle>{cycle}</bpmn:timeCycle></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f4" sourceRef="remind" targetRef="tell" />
    <bpmn:serviceTask id="tell">
      <bpmn:extensionElements><spiffworkflow:serviceTaskOperator id="notify" resultVariable="r">
        <spiffworkflow:parameters>
          <spiffworkflow:parameter id="roles" type="list" value="['property']" />
          <spiffworkflow:parameter id="message" type="str" value="'reminder'" />
        </spiffworkflow:parameters></spiffworkflow:serviceTaskOperator></bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:sequenceFlow id="f5" sourceRef="tell" targetRef="end2" />
    <bpmn:endEvent id="end2" />
  </bpmn:process>
</bpmn:definitions>"""


def pre_script(script: str, key: str = "prescripted", due_in: str = "'PT1H'") -> str:
    """start -> a user task whose preScript (and dueIn) are the analyst's -> end."""
    return f"""{HEAD}
  <bpmn:process id="{key}" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="l1" name="maintenance"><bpmn:flowNodeRef>work</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work" />
    <bpmn:userTask id="work" name="接单">
      <bpmn:extensionElements>
        <spiffworkflow:preScript>{script}</spiffworkflow:preScript>
        <spiffworkflow:properties><spiffworkflow:property name="dueIn" value="{due_in}" /></spiffworkflow:properties>
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>"""


def looping(condition: str = "True", key: str = "looper") -> str:
    """start -> script -> gateway -(condition)-> back to the script; otherwise -> user task -> end."""
    return f"""{HEAD}
  <bpmn:process id="{key}" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="l1" name="maintenance"><bpmn:flowNodeRef>work</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="count" />
    <bpmn:scriptTask id="count" name="计数"><bpmn:script>n = n + 1 if n else 1</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="f2" sourceRef="count" targetRef="again" />
    <bpmn:exclusiveGateway id="again" name="再来一次" default="f_done" />
    <bpmn:sequenceFlow id="f_back" sourceRef="again" targetRef="count"><bpmn:conditionExpression>{condition}</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_done" sourceRef="again" targetRef="work" />
    <bpmn:userTask id="work" name="work" />
    <bpmn:sequenceFlow id="f3" sourceRef="work" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>"""


def fan_out(cardinality: str, key: str = "fanout", sequential: bool = False) -> str:
    """start -> a multi-instance script task (loopCardinality) -> user task -> end."""
    flag = "true" if sequential else "false"
    return f"""{HEAD}
  <bpmn:process id="{key}" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="l1" name="maintenance"><bpmn:flowNodeRef>work</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="each" />
    <bpmn:scriptTask id="each" name="逐台处理">
      <bpmn:multiInstanceLoopCharacteristics isSequential="{flag}">
        <bpmn:loopCardinality>{cardinality}</bpmn:loopCardinality>
      </bpmn:multiInstanceLoopCharacteristics>
      <bpmn:script>done = True</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="f2" sourceRef="each" targetRef="work" />
    <bpmn:userTask id="work" name="work" />
    <bpmn:sequenceFlow id="f3" sourceRef="work" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>"""


def timer_kind(tag: str, value: str, key: str = "timed") -> str:
    """start -> user task with a boundary timer <tag>value</tag> -> end."""
    return f"""{HEAD}
  <bpmn:process id="{key}" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="l1" name="maintenance"><bpmn:flowNodeRef>work</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work" />
    <bpmn:userTask id="work" name="work" />
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end" />
    <bpmn:endEvent id="end" />
    <bpmn:boundaryEvent id="late" name="超时提醒" attachedToRef="work" cancelActivity="false">
      <bpmn:timerEventDefinition><bpmn:{tag}>{value}</bpmn:{tag}></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f4" sourceRef="late" targetRef="end2" />
    <bpmn:endEvent id="end2" />
  </bpmn:process>
</bpmn:definitions>"""
