import { userMrkdwnFor } from "../alerts/messages.js";
import { buildHome } from "../blocks/home.js";
import type { ListenerDeps } from "./deps.js";
import type { EventArgs } from "./router.js";

/** Draws the Home tab when someone opens it. */
export function homeListener(deps: ListenerDeps) {
  return async ({ event, client }: EventArgs): Promise<void> => {
    if (event.type !== "app_home_opened" || event.tab !== "home") return;
    let view: ReturnType<typeof buildHome>;
    try {
      const alerts = await deps.alerts.listAll();
      view = buildHome(alerts, null, "/alerts", deps.alerts.listedAt());
    } catch (error) {
      view = buildHome(null, userMrkdwnFor(error));
    }
    await client.views
      .publish({ user_id: event.user, view: view as never })
      .catch((e: Error) => deps.logger.warn({ err: e.message }, "could not publish the Home tab"));
  };
}
