import type { App } from "@slack/bolt";
import { registerActions } from "./actions.js";
import { registerAlertForm } from "./alert-form.js";
import { commandListener } from "./commands.js";
import type { ListenerDeps } from "./deps.js";
import { homeListener } from "./home.js";
import { ListenerRouter } from "./router.js";
import { registerViews } from "./views.js";

/** The interaction handlers (buttons, menus, form suggestions, modal submissions), by id. */
export function listenerRouter(deps: ListenerDeps): ListenerRouter {
  const router = new ListenerRouter();
  registerActions(router, deps);
  registerViews(router, deps);
  registerAlertForm(router, deps);
  return router;
}

/**
 * Every listener, registered once, as one global middleware (see router.ts): the
 * slash command (any slash command routed to the app is treated as `/alerts`),
 * the interactions, and the Home tab.
 */
export function registerListeners(app: App, deps: ListenerDeps): void {
  const router = listenerRouter(deps);
  router.command(/(?:)/, commandListener(deps));
  router.event("app_home_opened", homeListener(deps));
  router.attach(app, (error) =>
    deps.logger.error({ err: error instanceof Error ? error.message : String(error) }, "action failed"),
  );
}
