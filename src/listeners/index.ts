import type { App } from "@slack/bolt";
import { registerActions } from "./actions.js";
import { registerAlertForm } from "./alert-form.js";
import { commandListener } from "./commands.js";
import type { ListenerDeps } from "./deps.js";
import { registerHome } from "./home.js";
import { registerViews } from "./views.js";

/** Every listener, registered once. Any slash command routed to the app is treated as `/alerts`. */
export function registerListeners(app: App, deps: ListenerDeps): void {
  app.command(/.*/, commandListener(deps));
  registerActions(app, deps);
  registerViews(app, deps);
  registerAlertForm(app, deps);
  registerHome(app, deps);
}
