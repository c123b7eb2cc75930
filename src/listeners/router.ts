import type {
  AllMiddlewareArgs,
  AnyMiddlewareArgs,
  App,
  SlackAction,
  SlackActionMiddlewareArgs,
  SlackCommandMiddlewareArgs,
  SlackEventMiddlewareArgs,
  SlackOptionsMiddlewareArgs,
  SlackViewAction,
  SlackViewMiddlewareArgs,
} from "@slack/bolt";

/**
 * Routes every request Bolt hands the app to its handler: a slash command by its
 * name, an interaction by its action id or view callback id, an event by its type.
 *
 * Bolt runs every registered listener's middleware for every request: one
 * promise chain per listener, each with a copy of the listener arguments,
 * before (and around) the one that acks. With a listener per button the bot
 * had twenty of them, which cost more than the rest of a bare Bolt app's work
 * on a request, in front of every ack; with one per kind of request (command,
 * actions, suggestions, submissions, events) the five chains still made a third
 * of what the bot allocated per `/alerts list`. The router registers no Bolt
 * listener at all: one global middleware, last in the chain, finds the handler
 * in a table and calls it with the arguments Bolt gives its listeners.
 *
 * Matching is Bolt's: an exact id (or name, or event type), or a RegExp tested
 * against it; an action without an `action_id` matches nothing, and a view
 * route takes submissions only, as `app.view(id)` does. A request no route
 * takes goes on down Bolt's chain, which has no listeners: it is left
 * unacknowledged, as Bolt leaves it (events excepted, which Bolt acks itself).
 */

type Handler<Args> = (args: Args) => Promise<void>;
type Id = string | RegExp;

export type ActionArgs<A extends SlackAction = SlackAction> = SlackActionMiddlewareArgs<A> &
  AllMiddlewareArgs;
export type OptionsArgs = SlackOptionsMiddlewareArgs<"block_suggestion"> & AllMiddlewareArgs;
export type ViewArgs<V extends SlackViewAction = SlackViewAction> = SlackViewMiddlewareArgs<V> &
  AllMiddlewareArgs;
export type CommandArgs = SlackCommandMiddlewareArgs & AllMiddlewareArgs;
export type EventArgs = SlackEventMiddlewareArgs & AllMiddlewareArgs;

interface Route<Args> {
  id: Id;
  handler: Handler<Args>;
}

function matches(id: Id, value: string): boolean {
  return typeof id === "string" ? id === value : id.test(value);
}

function find<Args>(routes: Route<Args>[], value: unknown): Handler<Args> | undefined {
  if (typeof value !== "string") return undefined;
  return routes.find((route) => matches(route.id, value))?.handler;
}

export class ListenerRouter {
  private readonly actions: Route<ActionArgs>[] = [];
  private readonly suggestions: Route<OptionsArgs>[] = [];
  private readonly views: Route<ViewArgs>[] = [];
  private readonly commands: Route<CommandArgs>[] = [];
  private readonly events: Route<EventArgs>[] = [];

  /** A slash command by its name (`/alerts`). */
  command(name: Id, handler: Handler<CommandArgs>): void {
    this.commands.push({ id: name, handler });
  }

  /** An Events API event by its type (`app_home_opened`). */
  event(type: Id, handler: Handler<EventArgs>): void {
    this.events.push({ id: type, handler });
  }

  /** A block action (button, menu, select) by its `action_id`. */
  action<A extends SlackAction = SlackAction>(id: Id, handler: Handler<ActionArgs<A>>): void {
    this.actions.push({ id, handler: handler as unknown as Handler<ActionArgs> });
  }

  /** A `block_suggestion` (external select options) by its `action_id`. */
  options(id: Id, handler: Handler<OptionsArgs>): void {
    this.suggestions.push({ id, handler });
  }

  /** A `view_submission` by its view's `callback_id`. */
  view<V extends SlackViewAction = SlackViewAction>(callbackId: Id, handler: Handler<ViewArgs<V>>): void {
    this.views.push({ id: callbackId, handler: handler as unknown as Handler<ViewArgs> });
  }

  /** The handler an action id would reach, if any (for tests and checks). */
  actionHandler(actionId: string): Handler<ActionArgs> | undefined {
    return find(this.actions, actionId);
  }

  /** Action ids (strings) that more than one route would take: a mistake, since only the first runs. */
  overlaps(actionIds: string[]): string[] {
    return actionIds.filter((id) => this.actions.filter((route) => matches(route.id, id)).length > 1);
  }

  /**
   * Registers the one global middleware that dispatches to the routes; register it after
   * any other global middleware, since it ends the chain for what it handles.
   *
   * An action handler acks first, and its work after that (PostHog calls that may
   * take seconds) goes on without Bolt waiting for it: Bolt's request context and
   * body are freed once the ack is out, instead of piling up while PostHog is slow.
   * A failure there goes to `onError`, since Bolt's error handler no longer sees it.
   */
  attach(app: App, onError: (error: unknown) => void): void {
    app.use(async (args) => {
      const handled = this.dispatch(args, onError);
      if (handled) await handled;
      else await args.next();
    });
  }

  /** The running handler for a request, or null when no route takes it. */
  private dispatch(
    args: AnyMiddlewareArgs & AllMiddlewareArgs,
    onError: (error: unknown) => void,
  ): Promise<void> | null {
    const type = (args.body as { type?: unknown }).type;
    if ("command" in args && args.command) {
      const handler = find(this.commands, args.command.command);
      return handler ? handler(args as CommandArgs) : null;
    }
    if ("action" in args && type === "block_actions") {
      const handler = find(this.actions, (args.payload as { action_id?: unknown }).action_id);
      if (!handler) return null;
      handler(args as ActionArgs).catch(onError);
      return Promise.resolve();
    }
    if ("options" in args && type === "block_suggestion") {
      const handler = find(this.suggestions, (args.payload as { action_id?: unknown }).action_id);
      return handler ? handler(args as OptionsArgs) : null;
    }
    if ("view" in args && type === "view_submission") {
      const handler = find(this.views, args.view.callback_id);
      return handler ? handler(args as ViewArgs) : null;
    }
    if ("event" in args && args.event) {
      const handler = find(this.events, args.event.type);
      return handler ? handler(args as EventArgs) : null;
    }
    return null;
  }
}
