/**
 * Every Slack identifier the bot puts on a surface and listens for, in one
 * place: listeners, builders and tests import these and never repeat literals.
 */

// Slash-command interactions (ephemeral messages)
export const ACTION_LIST_PAGE = "alerts_list_page";
export const ACTION_ROW_MENU = "alerts_row_menu";
export const ACTION_SHOW_EDIT = "alert_edit";
export const ACTION_SHOW_SNOOZE = "alert_snooze_menu";
export const ACTION_SHOW_TOGGLE = "alert_toggle_enabled";
export const ACTION_SHOW_UNSNOOZE = "alert_unsnooze";
export const ACTION_SHOW_DELETE = "alert_delete_ask";
export const ACTION_CONFIRM_DELETE = "alert_delete_confirm";
export const ACTION_OPEN_IN_POSTHOG = "alert_open_posthog";

// Firing-notification message controls
export const ACTION_NOTIFY_SNOOZE = "notify_snooze";
export const ACTION_NOTIFY_UNSNOOZE = "notify_unsnooze";
export const ACTION_NOTIFY_DISABLE = "notify_disable";
export const ACTION_NOTIFY_ENABLE = "notify_enable";
export const ACTION_NOTIFY_OPEN = "notify_open_posthog";

// Create / edit modal
export const VIEW_ALERT_FORM = "alert_form";
export const VIEW_SNOOZE_CUSTOM = "snooze_custom";
export const BLOCK_INSIGHT = "insight";
export const ACTION_INSIGHT = "insight_select";
export const BLOCK_NAME = "name";
export const ACTION_NAME = "name_input";
export const BLOCK_SERIES = "series";
export const ACTION_SERIES = "series_select";
export const BLOCK_CONDITION = "condition";
export const ACTION_CONDITION = "condition_select";
export const BLOCK_THRESHOLD_TYPE = "threshold_type";
export const ACTION_THRESHOLD_TYPE = "threshold_type_select";
export const BLOCK_LOWER = "lower";
export const ACTION_LOWER = "lower_input";
export const BLOCK_UPPER = "upper";
export const ACTION_UPPER = "upper_input";
export const BLOCK_INTERVAL = "interval";
export const ACTION_INTERVAL = "interval_select";
export const BLOCK_OPTIONS = "options";
export const ACTION_OPTIONS = "options_checks";
export const BLOCK_SUBSCRIBERS = "subscribers";
export const ACTION_SUBSCRIBERS = "subscribers_select";
export const BLOCK_SNOOZE_AT = "snooze_at";
export const ACTION_SNOOZE_AT = "snooze_at_picker";

// Webhook and other HTTP routes
export const ROUTE_SLACK_EVENTS = "/slack/events";
export const ROUTE_HEALTH = "/healthz";
export const ROUTE_POSTHOG_WEBHOOK = "/posthog/webhook";
