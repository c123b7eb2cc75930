import type { StateValues } from "../../src/blocks/view-state.js";

export { type StateValues, stateFromView } from "../../src/blocks/view-state.js";

/** Sets one field of a state, keeping its element type. */
export function setField(state: StateValues, blockId: string, patch: Record<string, unknown>): StateValues {
  const block = state[blockId];
  if (!block) throw new Error(`no input block ${blockId} in the view`);
  const [actionId, value] = Object.entries(block)[0] as [string, Record<string, unknown>];
  return { ...state, [blockId]: { [actionId]: { ...value, ...patch } } };
}
