/** Slack's Block Kit limits the builders design within (and the tests check). */
export const LIMITS = {
  messageBlocks: 50,
  viewBlocks: 100,
  sectionText: 3000,
  fields: 10,
  fieldText: 2000,
  headerText: 150,
  actionsElements: 25,
  contextElements: 10,
  buttonText: 75,
  buttonValue: 2000,
  optionText: 75,
  optionValue: 150,
  selectOptions: 100,
  overflowOptions: 5,
  viewTitle: 24,
  privateMetadata: 3000,
  placeholder: 150,
  confirmTitle: 100,
  confirmText: 300,
  confirmButton: 30,
  /** One mrkdwn element of a context block. */
  contextText: 2000,
  /** chat.update refuses longer fallback text (msg_too_long). */
  fallbackText: 4000,
} as const;
