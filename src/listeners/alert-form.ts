import type {
  AllMiddlewareArgs,
  BlockAction,
  ExternalSelectAction,
  SlackActionMiddlewareArgs,
  SlackOptionsMiddlewareArgs,
  SlackViewMiddlewareArgs,
  types,
  ViewSubmitAction,
} from "@slack/bolt";
import type { WebClient } from "@slack/web-api";
import { MESSAGES, resolutionText, userMessageFor } from "../alerts/messages.js";
import type { WriteDecision } from "../auth/policy.js";
import {
  type AlertFormMeta,
  type AlertFormValues,
  alertChanges,
  alertFormMetaCodec,
  buildAlertForm,
  buildEditAlertForm,
  buildFormErrorView,
  buildFormNoticeView,
  buildLoadingView,
  buildSavingView,
  buildSuccessView,
  defaultFormValues,
  FORM_ERRORS,
  type FormErrors,
  type FormField,
  type FormInsight,
  type FormMode,
  factsFromMeta,
  failureOnForm,
  formInputBlocks,
  formPrints,
  formValuesFromAlert,
  genericSeries,
  type InsightFacts,
  insightMenuOptions,
  type ModalView,
  memberLabel,
  memberMenuOptions,
  menuNoticeOption,
  type PickedOption,
  parseInsightRef,
  pickedOption,
  placeErrors,
  readAlertForm,
  type SlackOption,
  validateAlertForm,
} from "../blocks/alert-modal.js";
import { isPostHogError } from "../posthog/errors.js";
import { insightDisplayName, isAlertable, onlyAbsoluteAllowed, seriesOf } from "../posthog/insight-query.js";
import {
  type Alert,
  type AlertCreate,
  type AlertPatch,
  CALCULATION_INTERVALS,
  type Insight,
  type Member,
} from "../posthog/schemas.js";
import { alertIdSchema } from "../slack/codecs.js";
import { ACTION_INSIGHT, ACTION_SUBSCRIBERS, BLOCK_INSIGHT, VIEW_ALERT_FORM } from "../slack/ids.js";
import { safeMrkdwn } from "../slack/mrkdwn.js";
import { announceChange, type ListenerDeps, TIMED_OUT, tellInChannel, within } from "./deps.js";
import type { ListenerRouter } from "./router.js";

/**
 * The create / edit alert modal. Opening shows a loading view at once (the
 * trigger_id lasts about 3 s) and fills it in with views.update. A submission
 * is validated locally and answered inside Slack's 3 s; the PostHog write
 * happens after the ack, behind a "Saving…" view, and a failure puts the
 * whole form back with the person's input and PostHog's reason.
 */

export type AlertFormTarget =
  | { mode: "create"; insight?: string | null; userId: string; channelId?: string }
  | { mode: "edit"; alertId: string; userId: string; channelId?: string }
  /** An alert still to be found from what the user typed, once the form shows "Loading". */
  | { mode: "edit"; ref: string; command: string; userId: string; channelId?: string };

/** A failure before an edit's write was sent: nothing can have been saved. */
class NotSent extends Error {
  constructor(override readonly cause: unknown) {
    super("failed before the write was sent");
  }
}

/** A reference that found no single alert; its mrkdwn text takes the form's place. */
class NoSingleAlert extends Error {
  constructor(readonly mrkdwn: string) {
    super("the reference found no single alert");
  }
}

export interface AlertFormOptions {
  /** How long a submission waits for the permission check before acking with "Saving…". */
  policyWaitMs?: number;
  /** How long a type-ahead menu waits for PostHog before answering with no options. */
  menuWaitMs?: number;
  /** How long a failed save waits to re-read the insight's series names. */
  reloadWaitMs?: number;
}

const DEFAULTS: Required<AlertFormOptions> = { policyWaitMs: 1800, menuWaitMs: 2000, reloadWaitMs: 3000 };

function asView(view: ModalView): types.View {
  return view as unknown as types.View;
}

function slackErrorCode(error: unknown): string | undefined {
  return (error as { data?: { error?: string } }).data?.error;
}

function errorFields(error: unknown) {
  return {
    code: (error as { code?: string }).code,
    err: error instanceof Error ? error.message : String(error),
  };
}

/** The form's view of an insight: name, alertability, series, chart restriction. */
export function formInsightOf(insight: Insight): FormInsight {
  const series = seriesOf(insight);
  return {
    id: insight.id,
    name: insightDisplayName(insight),
    alertable: isAlertable(insight),
    absoluteOnly: onlyAbsoluteAllowed(insight),
    seriesCount: series.length,
    series,
  };
}

async function loadMembers(deps: ListenerDeps): Promise<Member[] | null> {
  try {
    return [...(await deps.policy.membersByEmail()).values()];
  } catch (error) {
    deps.logger.warn(errorFields(error), "could not list PostHog members for the alert form");
    return null;
  }
}

function memberChoices(members: Member[] | null): PickedOption[] | null {
  return members ? members.map((m) => ({ id: m.user.id, label: memberLabel(m) })) : null;
}

const INTERVAL_TOKEN = /^[a-z][a-z0-9_]{0,39}$/;

function baseMeta(target: AlertFormTarget): AlertFormMeta {
  const channel =
    target.channelId && /^[CGD][A-Z0-9]{2,}$/.test(target.channelId) ? { c: target.channelId } : {};
  return target.mode === "create"
    ? { m: "create", ...channel }
    : { m: "edit", a: "alertId" in target ? target.alertId : "", ...channel };
}

type Resolved = { insight: FormInsight | null; notice: string | undefined };

function resolvedFrom(insight: Insight): Resolved {
  const loaded = formInsightOf(insight);
  if (loaded.alertable) return { insight: loaded, notice: undefined };
  return {
    insight: null,
    notice: `⚠️ *${safeMrkdwn(loaded.name, 200)}* can't have alerts: only trends insights can. Choose another insight below.`,
  };
}

/**
 * The insight named after `/alerts create`: a PostHog link, a numeric id, a
 * short id, or failing those a name that matches exactly one saved insight.
 * Never throws; anything that does not resolve becomes a notice above the form.
 */
async function resolveTypedInsight(deps: ListenerDeps, typed: string): Promise<Resolved> {
  const shown = `“${safeMrkdwn(typed, 200)}”`;
  const parsed = parseInsightRef(typed);
  if (parsed?.projectId && parsed.projectId !== deps.links.projectId) {
    return {
      insight: null,
      notice: `⚠️ That link is for PostHog project ${parsed.projectId}, but this bot works with project ${safeMrkdwn(deps.links.projectId, 40)}. Choose an insight below.`,
    };
  }
  const exactRef = parsed !== null && (typeof parsed.ref === "number" || /^<?https?:/i.test(typed));
  if (parsed) {
    try {
      return resolvedFrom(await deps.alerts.api.getInsight(parsed.ref));
    } catch (error) {
      const missing = isPostHogError(error) && error.code === "not_found";
      if (!missing)
        return {
          insight: null,
          notice: `⚠️ ${safeMrkdwn(userMessageFor(error), 600)} Choose the insight below.`,
        };
      if (exactRef) {
        return {
          insight: null,
          notice: `⚠️ PostHog has no insight ${shown} in this project. Choose the insight below.`,
        };
      }
    }
  }
  // Not a link or id: treat it as a name.
  try {
    const page = await deps.alerts.api.searchInsights({ search: typed.slice(0, 200), limit: 10 });
    const candidates = page.results.filter((i) => !i.deleted && (i.query === undefined || isAlertable(i)));
    const lowered = typed.toLowerCase();
    const exact = candidates.filter((i) => insightDisplayName(i).toLowerCase() === lowered);
    const only = exact.length === 1 ? exact[0] : candidates.length === 1 ? candidates[0] : undefined;
    if (only) return resolvedFrom(await deps.alerts.api.getInsight(only.id));
    return {
      insight: null,
      notice:
        candidates.length === 0
          ? `⚠️ No saved trends insight matches ${shown}. Choose the insight below.`
          : `⚠️ Several insights match ${shown}. Choose the one you mean below.`,
    };
  } catch (error) {
    return { insight: null, notice: `⚠️ ${safeMrkdwn(userMessageFor(error), 600)} Choose the insight below.` };
  }
}

async function buildCreateForm(
  deps: ListenerDeps,
  target: Extract<AlertFormTarget, { mode: "create" }>,
): Promise<ModalView> {
  const membersLoading = loadMembers(deps);
  const meLoading = deps.policy.posthogUserIdFor(target.userId);
  const typed = target.insight?.trim();
  const { insight, notice } = typed
    ? await resolveTypedInsight(deps, typed)
    : { insight: null, notice: undefined };
  const [members, me] = await Promise.all([membersLoading, meLoading]);
  const choices = memberChoices(members);
  const values: AlertFormValues = { ...defaultFormValues() };
  if (insight) values.insight = { id: insight.id, label: insight.name };
  if (me !== null) {
    values.subscribers = [
      { id: me, label: choices?.find((c) => c.id === me)?.label ?? `PostHog user ${me}` },
    ];
  }
  return buildAlertForm({ meta: baseMeta(target), values, insight, members: choices, notice });
}

async function findAlert(deps: ListenerDeps, target: { ref: string; command: string }): Promise<Alert> {
  const found = await deps.alerts.resolve(target.ref);
  if (!found.ok) throw new NoSingleAlert(resolutionText(found, target.command));
  // An id was just read from PostHog; a name was matched in the list, which may be seconds old.
  return alertIdSchema.safeParse(target.ref.trim()).success
    ? found.alert
    : deps.alerts.api.getAlert(found.alert.id);
}

async function buildEditForm(
  deps: ListenerDeps,
  target: Extract<AlertFormTarget, { mode: "edit" }>,
): Promise<ModalView> {
  const membersLoading = loadMembers(deps);
  const alert =
    "alertId" in target ? await deps.alerts.api.getAlert(target.alertId) : await findAlert(deps, target);
  const [insight, members] = await Promise.all([
    deps.alerts.api.getInsight(alert.insight).then(formInsightOf),
    membersLoading,
  ]);
  const labels = new Map((members ?? []).map((m) => [m.user.id, memberLabel(m)] as const));
  const values = formValuesFromAlert(alert, insight.name, labels);
  // PostHog already holds this alert on its insight, whatever the bot makes of the insight's
  // kind (newer servers accept more kinds than trends): it is not refused there (`h`), so a
  // rename or a new subscriber can be saved. PostHog judges any other insight picked.
  const meta: AlertFormMeta = { ...baseMeta(target), a: alert.id, h: alert.insight };
  const interval = alert.calculation_interval;
  if (!(CALCULATION_INTERVALS as readonly string[]).includes(interval) && INTERVAL_TOKEN.test(interval)) {
    meta.x = interval;
  }
  return buildEditAlertForm({
    meta,
    values,
    insight,
    members: memberChoices(members),
  });
}

/**
 * Opens the create or edit form: a loading modal right away, then the form
 * (or a view explaining why it could not load). Throws only when Slack
 * refuses to open the modal, e.g. an expired trigger_id.
 */
export async function openAlertForm(
  client: WebClient,
  triggerId: string,
  deps: ListenerDeps,
  target: AlertFormTarget,
): Promise<void> {
  const opened = await client.views.open({
    trigger_id: triggerId,
    view: asView(buildLoadingView(target.mode)),
  });
  const viewId = opened.view?.id;
  if (!viewId) return;
  let view: ModalView;
  try {
    view = target.mode === "create" ? await buildCreateForm(deps, target) : await buildEditForm(deps, target);
  } catch (error) {
    if (error instanceof NoSingleAlert) {
      view = buildFormNoticeView(target.mode, error.mrkdwn);
    } else {
      deps.logger.warn(
        { slackUser: target.userId, mode: target.mode, ...errorFields(error) },
        "could not load the alert form",
      );
      view = buildFormErrorView(target.mode, userMessageFor(error));
    }
  }
  try {
    await client.views.update({
      view_id: viewId,
      ...(opened.view?.hash ? { hash: opened.view.hash } : {}),
      view: asView(view),
    });
  } catch (error) {
    deps.logger.warn(
      { slackUser: target.userId, slackError: slackErrorCode(error), ...errorFields(error) },
      "could not show the alert form",
    );
  }
}

type OptionsArgs = SlackOptionsMiddlewareArgs<"block_suggestion"> & AllMiddlewareArgs;
type InsightActionArgs = SlackActionMiddlewareArgs<BlockAction<ExternalSelectAction>> & AllMiddlewareArgs;
type SubmitArgs = SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs;

/**
 * A type-ahead's answer when it could not search: one entry that says why, in
 * an option's 75 characters, instead of an empty menu that looks like "no
 * matches". Its value is refused if picked (see MENU_NOTICE_VALUE).
 */
function menuNotice(problem: unknown, what: "insights" | "people") {
  const code = problem === TIMED_OUT ? "timeout" : isPostHogError(problem) ? problem.code : null;
  const text =
    code === "timeout"
      ? "PostHog is slow to answer; type again to retry"
      : code === "rate_limited"
        ? "PostHog is rate limiting the bot; try again in a minute"
        : code === "unauthorized" || code === "forbidden"
          ? `The bot's PostHog key cannot read ${what}; ask whoever runs it`
          : `Could not search PostHog's ${what}; type again to retry`;
  return {
    options: [menuNoticeOption(`⚠️ ${text}`)] as unknown as Array<{
      text: types.PlainTextElement;
      value: string;
    }>,
  };
}

/** The listeners, separate from registration so they can be driven directly with Bolt-shaped arguments. */
export function alertFormHandlers(deps: ListenerDeps, options: AlertFormOptions = {}) {
  const { policyWaitMs, menuWaitMs, reloadWaitMs } = { ...DEFAULTS, ...options };

  /** Insight type-ahead: saved, alertable insights matching the typed text; a pasted link or id first. */
  async function insightOptions({ options: payload, ack }: OptionsArgs): Promise<void> {
    const search = (payload.value ?? "").trim().slice(0, 200);
    const isLink = /^<?https?:/i.test(search);
    const ref = isLink || /^\d{1,15}$/.test(search) ? parseInsightRef(search) : null;
    const direct =
      ref && (ref.projectId === null || ref.projectId === deps.links.projectId)
        ? deps.alerts.api.getInsight(ref.ref).catch(() => null)
        : Promise.resolve(null);
    let failure: unknown = null;
    const searched = deps.alerts.api.searchInsights({ search: isLink ? undefined : search, limit: 25 }).then(
      (page) => page.results,
      (error: unknown) => {
        deps.logger.warn(errorFields(error), "insight search failed");
        failure = error;
        return [] as Insight[];
      },
    );
    const result = await within(Promise.all([direct, searched]), menuWaitMs);
    if (result === TIMED_OUT) {
      deps.logger.warn({ search }, "insight search took too long; answered with a notice");
      await ack(menuNotice(TIMED_OUT, "insights"));
      return;
    }
    const [first, rest] = result;
    if (!first && failure !== null) return void (await ack(menuNotice(failure, "insights")));
    // `query` missing means PostHog did not say; offer it and let PostHog judge on save.
    const usable = [...(first ? [first] : []), ...rest].filter(
      (i) => !i.deleted && (i.query === undefined || isAlertable(i)),
    );
    const options = insightMenuOptions(usable.map((i) => ({ id: i.id, name: insightDisplayName(i) })));
    await ack({ options: options as unknown as Array<{ text: types.PlainTextElement; value: string }> });
  }

  /** Subscriber type-ahead (used when the organization is too large for one static menu). */
  async function subscriberOptions({ options: payload, ack }: OptionsArgs): Promise<void> {
    const query = (payload.value ?? "").trim().slice(0, 100);
    let members: Member[] | typeof TIMED_OUT;
    try {
      members = await within(
        deps.policy.membersByEmail().then((m) => [...m.values()]),
        menuWaitMs,
      );
    } catch (error) {
      deps.logger.warn(errorFields(error), "member search failed");
      return void (await ack(menuNotice(error, "people")));
    }
    if (members === TIMED_OUT) return void (await ack(menuNotice(TIMED_OUT, "people")));
    const options: SlackOption[] = memberMenuOptions(members, query);
    await ack({ options: options as unknown as Array<{ text: types.PlainTextElement; value: string }> });
  }

  /** A new insight was picked: refresh its series and the chart-type restriction, keeping everything typed. */
  async function insightChanged({ ack, body, action, client }: InsightActionArgs): Promise<void> {
    await ack();
    const view = body.view;
    if (!view || view.callback_id !== VIEW_ALERT_FORM) return;
    const meta = alertFormMetaCodec.decode(view.private_metadata);
    if (!meta) return;
    const values = readAlertForm(view.state.values);
    values.insight = pickedOption(action.selected_option) ?? null;
    const [loaded, members] = await Promise.all([
      values.insight
        ? deps.alerts.api
            .getInsight(values.insight.id)
            .then(formInsightOf)
            .catch((error: unknown) => ({ failed: userMessageFor(error) }))
        : Promise.resolve(null),
      loadMembers(deps),
    ]);
    let insight: FormInsight | null = null;
    let notice: string | undefined;
    let fieldErrors: FormErrors | undefined;
    if (loaded && "failed" in loaded) {
      notice = `⚠️ Could not read that insight's series: ${safeMrkdwn(loaded.failed, 600)}`;
    } else if (loaded) {
      insight = loaded;
      if (loaded.id !== meta.i) values.seriesIndex = 0;
      if (!loaded.alertable && loaded.id !== meta.h)
        fieldErrors = { [BLOCK_INSIGHT]: FORM_ERRORS.notAlertable };
      if (values.insight) values.insight = { id: loaded.id, label: loaded.name };
    }
    const next = buildAlertForm({
      meta,
      values,
      insight,
      members: memberChoices(members),
      notice,
      fieldErrors,
    });
    try {
      await client.views.update({ view_id: view.id, hash: view.hash, view: asView(next) });
    } catch (error) {
      const code = slackErrorCode(error);
      // Someone (or a newer pick) changed the view first; that newer state wins.
      if (code === "hash_conflict")
        deps.logger.debug({ viewId: view.id }, "alert form changed meanwhile; skipped refresh");
      else deps.logger.warn({ slackError: code, ...errorFields(error) }, "could not refresh the alert form");
    }
  }

  /** The form again, with the person's input, a sentence at the top and errors under fields. */
  async function formAgain(
    meta: AlertFormMeta,
    values: AlertFormValues,
    facts: InsightFacts | null,
    problem: { notice: string } | { failure: Parameters<typeof failureOnForm>[0] },
  ): Promise<ModalView> {
    const [reloaded, members] = await Promise.all([
      values.insight
        ? within(
            deps.alerts.api
              .getInsight(values.insight.id)
              .then(formInsightOf)
              .catch(() => null),
            reloadWaitMs,
          )
        : Promise.resolve(null),
      loadMembers(deps),
    ]);
    let insight: FormInsight | null = reloaded === TIMED_OUT ? null : reloaded;
    if (!insight && facts && values.insight && facts.id === values.insight.id) {
      insight = { ...facts, name: values.insight.label, series: genericSeries(facts.seriesCount) };
    }
    const model = { meta, values, insight, members: memberChoices(members) };
    if ("notice" in problem) return buildAlertForm({ ...model, notice: problem.notice });
    const present = formInputBlocks(buildAlertForm(model));
    const { notice, fieldErrors } = failureOnForm(problem.failure, meta.m, present);
    return buildAlertForm({ ...model, notice, fieldErrors });
  }

  async function save(
    mode: FormMode,
    meta: AlertFormMeta,
    body: AlertCreate,
    /** The form's fields as submitted (see formPrints). */
    prints: Record<FormField, string>,
  ): Promise<{ alert: Alert; changes: AlertCreate | AlertPatch; changed: boolean }> {
    if (mode === "create") return { alert: await deps.alerts.create(body), changes: body, changed: true };
    const alertId = meta.a as string;
    const current = await deps.alerts.api.getAlert(alertId).catch((error: unknown) => {
      throw new NotSent(error);
    });
    const patch = alertChanges(current, body, meta.b ? { opened: meta.b, submitted: prints } : undefined);
    if (Object.keys(patch).length === 0) return { alert: current, changes: patch, changed: false };
    return { alert: await deps.alerts.update(alertId, patch), changes: patch, changed: true };
  }

  async function submit({ ack, body, view, client }: SubmitArgs): Promise<void> {
    const userId = body.user.id;
    const meta = alertFormMetaCodec.decode(view.private_metadata);
    if (!meta) {
      await ack({ response_action: "update", view: asView(buildFormErrorView("create", MESSAGES.tampered)) });
      return;
    }
    const values = readAlertForm(view.state.values);
    const facts = factsFromMeta(meta);
    const checked = validateAlertForm(values, facts, { extraInterval: meta.x });
    const present = Object.keys(view.state.values);
    if (!checked.ok) {
      await ack({ response_action: "errors", errors: placeErrors(checked.errors, present) });
      return;
    }

    const deciding = deps.policy
      .check(userId)
      .catch((): WriteDecision => ({ ok: false, reason: MESSAGES.unexpected, retry: true }));
    const early = await within(deciding, policyWaitMs);
    // A refusal that trying again may undo (a lookup failed) keeps the form: it is shown again below.
    if (early !== TIMED_OUT && !early.ok && !early.retry) {
      deps.logger.info(
        { slackUser: userId, alertId: meta.a, action: meta.m },
        "alert form refused by WRITE_ACCESS policy",
      );
      // Not about any one field: the person may not change alerts at all, so the form gives way.
      await ack({ response_action: "update", view: asView(buildFormErrorView(meta.m, early.reason)) });
      return;
    }
    await ack({ response_action: "update", view: asView(buildSavingView(meta.m, checked.body.name)) });

    /** A sentence for the person in the channel the form came from, if it came from one. */
    const tell = (text: string) => tellInChannel(deps, client, meta.c, userId, text);
    /** Shows the outcome in the form; if the form is gone (closed meanwhile), says `fallback` in its channel. */
    const show = async (next: ModalView, fallback?: string) => {
      try {
        await client.views.update({ view_id: view.id, view: asView(next) });
      } catch (error) {
        deps.logger.warn(
          { slackUser: userId, slackError: slackErrorCode(error), ...errorFields(error) },
          "could not update the alert form",
        );
        if (fallback) await tell(fallback);
      }
    };

    const decision = early === TIMED_OUT ? await deciding : early;
    if (!decision.ok) {
      deps.logger.info(
        { slackUser: userId, alertId: meta.a, action: meta.m, retry: decision.retry === true },
        decision.retry
          ? "alert form not saved: the permission check failed"
          : "alert form refused by WRITE_ACCESS policy",
      );
      const sentence = `⚠️ ${decision.reason}`;
      // What the person typed is kept when trying again may work.
      const next = decision.retry
        ? await formAgain(meta, values, facts, { notice: sentence })
        : buildFormErrorView(meta.m, decision.reason);
      await show(next, sentence);
      return;
    }

    let saved: Awaited<ReturnType<typeof save>>;
    try {
      saved = await save(meta.m, meta, checked.body, formPrints(values));
    } catch (thrown) {
      const error = thrown instanceof NotSent ? thrown.cause : thrown;
      deps.logger.warn(
        {
          slackUser: userId,
          alertId: meta.a,
          action: meta.m,
          attr: isPostHogError(error) ? error.attr : undefined,
          ...errorFields(error),
        },
        "alert form save failed",
      );
      const failure = {
        ...(isPostHogError(error)
          ? { code: error.code, attr: error.attr, detail: error.detail, posthogCode: error.posthogCode }
          : { code: "unexpected", attr: null }),
        userMessage: userMessageFor(error),
        sent: !(thrown instanceof NotSent),
      };
      await show(
        await formAgain(meta, values, facts, { failure }),
        failureOnForm(failure, meta.m, new Set(), "channel").notice,
      );
      return;
    }

    const { alert, changes, changed } = saved;
    deps.logger.info(
      { slackUser: userId, alertId: alert.id, action: meta.m === "create" ? "create" : "edit", changes },
      changed ? "alert changed from Slack" : "alert form saved without changes",
    );
    await show(buildSuccessView({ mode: meta.m, alert, links: deps.links, changed }));

    if (changed && meta.m === "edit") {
      await announceChange(deps, alert, { verb: "edit", userId, alertId: alert.id });
    }
    if (changed) {
      const verb = meta.m === "create" ? "created" : "updated";
      await tell(`✅ You ${verb} the alert *${safeMrkdwn(alert.name || "(unnamed alert)", 200)}*.`);
    }
  }

  return { insightOptions, subscriberOptions, insightChanged, submit };
}

export function registerAlertForm(
  app: ListenerRouter,
  deps: ListenerDeps,
  options: AlertFormOptions = {},
): void {
  const handlers = alertFormHandlers(deps, options);
  app.options(ACTION_INSIGHT, handlers.insightOptions);
  app.options(ACTION_SUBSCRIBERS, handlers.subscriberOptions);
  app.action<BlockAction<ExternalSelectAction>>(ACTION_INSIGHT, handlers.insightChanged);
  app.view<ViewSubmitAction>(VIEW_ALERT_FORM, handlers.submit);
}
