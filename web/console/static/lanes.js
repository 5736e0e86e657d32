// Lanes are roles, but the laid-out diagrams draw no pools: tag each user task with its lane's role.
export function processOf(bo) {
  let process = bo;
  while (process && process.$type !== 'bpmn:Process') process = process.$parent;
  return process;
}

export function laneOf(bo) {
  for (const set of processOf(bo)?.laneSets || []) {
    for (const lane of set.lanes || []) if ((lane.flowNodeRef || []).includes(bo)) return lane;
  }
  return null;
}

// label: the lane's words for the reader (the case page); the modeler shows the role code itself.
export function tagRoles(diagram, label = (role) => role) {
  const overlays = diagram.get('overlays');
  overlays.remove({ type: 'role' });
  for (const element of diagram.get('elementRegistry').filter((e) => e.type === 'bpmn:UserTask')) {
    const role = laneOf(element.businessObject)?.name;
    const tag = document.createElement('span');
    tag.className = `role-tag${role ? '' : ' missing'}`;
    tag.textContent = role ? label(role) : '?';
    overlays.add(element.id, 'role', { position: { bottom: 14, left: -4 }, html: tag });
  }
}
