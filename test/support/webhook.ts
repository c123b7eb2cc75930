import { randomUUID } from "node:crypto";

/** PostHog's default HTTP-webhook body for a firing alert: {"event": {...}, "person": null}. */
export function firingBody(input: {
  alertId: string;
  alertName?: string;
  insightName?: string | null;
  insightShortId?: string;
  checkedAt?: Date;
  breaches?: string;
  uuid?: string;
  isTest?: boolean;
}) {
  const checkedAt = input.checkedAt ?? new Date();
  return {
    event: {
      uuid: input.uuid ?? randomUUID(),
      event: "$insight_alert_firing",
      elements_chain: "",
      distinct_id: "team_4242",
      properties: {
        alert_id: input.alertId,
        alert_name: input.alertName ?? "Signups dropped",
        insight_name: input.insightName === undefined ? "Daily signups" : input.insightName,
        insight_id: input.insightShortId ?? "AaVQ8Ijw",
        state: "Firing",
        last_checked_at: checkedAt.toISOString().replace("Z", "000+00:00"),
        breaches:
          input.breaches ??
          "The insight value (signed_up) for previous day (42) is less than lower threshold (100)",
        ...(input.isTest ? { is_test: true } : {}),
      },
      timestamp: checkedAt.toISOString().replace("Z", ""),
      url: "",
    },
    person: null,
  };
}

export async function postWebhook(
  baseUrl: string,
  body: unknown,
  options: { secret?: string | null; query?: string; contentType?: string; raw?: string } = {},
) {
  const headers: Record<string, string> = { "content-type": options.contentType ?? "application/json" };
  if (options.secret) headers.authorization = `Bearer ${options.secret}`;
  const res = await fetch(`${baseUrl}/posthog/webhook${options.query ?? ""}`, {
    method: "POST",
    headers,
    body: options.raw ?? JSON.stringify(body),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json: json as Record<string, unknown> | undefined, text };
}
