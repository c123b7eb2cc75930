import type {
  AllMiddlewareArgs,
  App,
  SlackAction,
  SlackActionMiddlewareArgs,
  SlackOptionsMiddlewareArgs,
  SlackViewAction,
  SlackViewMiddlewareArgs,
} from "@slack/bolt";

/**
 * Routes interactions to their handlers by action id or view callback id.
 *
 * Bolt runs every registered listener's middleware for every request: one
 * promise chain per listener, each with a copy of the listener arguments,
 * before (and around) the one that acks. With a listener per button the bot
 * had twenty of them, which cost more than the rest of a bare Bolt app's
 * work on a request, in front of every ack. The router registers one Bolt
 * listener per kind of request (block actions, block suggestions, view
 * submissions) and finds the handler in a table.
 *
 * Matching is Bolt's: an exact action id (or callback id), or a RegExp tested
 * against it; an action without an `action_id` matches nothing. A request no
 * handler matches is left unacknowledged, as Bolt leaves it.
 */

type Handler<Args> = (args: Args) => Promise<void>;
type Id = string | RegExp;

export type ActionArgs<A extends SlackAction = SlackAction> = SlackActionMiddlewareArgs<A> &
  AllMiddlewareArgs;
export type OptionsArgs = SlackOptionsMiddlewareArgs<"block_suggestion"> & AllMiddlewareArgs;
export type ViewArgs<V extends SlackViewAction = SlackViewAction> = SlackViewMiddlewareArgs<V> &
  AllMiddlewareArgs;

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
   * Registers the three Bolt listeners that dispatch to the routes.
   *
   * An action handler acks first, and its work after that (PostHog calls that may
   * take seconds) goes on without Bolt waiting for it: Bolt's request context and
   * body are freed once the ack is out, instead of piling up while PostHog is slow.
   * A failure there goes to `onError`, since Bolt's error handler no longer sees it.
   */
  attach(app: App, onError: (error: unknown) => void): void {
    app.action(/(?:)/, async (args) => {
      const handler = find(this.actions, (args.payload as { action_id?: unknown }).action_id);
      if (handler) handler(args).catch(onError);
    });
    app.options(/(?:)/, async (args) => {
      const handler = find(this.suggestions, (args.payload as { action_id?: unknown }).action_id);
      if (handler) await handler(args as OptionsArgs);
    });
    app.view(/(?:)/, async (args) => {
      const handler = find(this.views, args.view.callback_id);
      if (handler) await handler(args);
    });
  }
}
