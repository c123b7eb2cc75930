/**
 * What Slack would send as `view.state.values` if the user submitted a view
 * as shown: each input block's element with its initial value. Tests then
 * change the fields a person would edit; the edit form reads its own untouched
 * state this way (see fieldPrints in alert-modal.ts).
 */
export type StateValues = Record<string, Record<string, Record<string, unknown>>>;

export function stateFromView(view: { blocks?: Array<Record<string, unknown>> }): StateValues {
  const state: StateValues = {};
  for (const block of view.blocks ?? []) {
    if (block.type !== "input") continue;
    const element = block.element as Record<string, unknown>;
    const blockId = block.block_id as string;
    const actionId = element.action_id as string;
    const type = element.type as string;
    let value: Record<string, unknown>;
    switch (type) {
      case "plain_text_input":
      case "number_input":
        value = { type, value: (element.initial_value as string | undefined) ?? null };
        break;
      case "static_select":
      case "external_select":
      case "radio_buttons":
        value = { type, selected_option: element.initial_option ?? null };
        break;
      case "multi_static_select":
      case "multi_external_select":
      case "checkboxes":
        value = { type, selected_options: element.initial_options ?? [] };
        break;
      case "datetimepicker":
        value = { type, selected_date_time: element.initial_date_time ?? null };
        break;
      case "datepicker":
        value = { type, selected_date: element.initial_date ?? null };
        break;
      case "timepicker":
        value = { type, selected_time: element.initial_time ?? null };
        break;
      default:
        value = { type };
    }
    state[blockId] = { [actionId]: value };
  }
  return state;
}
