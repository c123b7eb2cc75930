import { describe, expect, it } from "vitest";
import {
  badResponse,
  classify,
  classifyNetworkError,
  isPostHogError,
  PostHogError,
  parseMissingScope,
  parseRetryAfter,
  rateLimitedMessage,
} from "../../../src/posthog/errors.js";

const body = (o: Record<string, unknown>) => JSON.stringify(o);

describe("classify", () => {
  it("maps 401 to unauthorized with the API key hint", () => {
    const e = classify(
      401,
      body({
        type: "authentication_error",
        code: "authentication_failed",
        detail: "Personal API key found in request Authorization header is invalid.",
        attr: null,
      }),
    );
    expect(e).toBeInstanceOf(PostHogError);
    expect(e.code).toBe("unauthorized");
    expect(e.status).toBe(401);
    expect(e.posthogCode).toBe("authentication_failed");
    expect(e.attr).toBeNull();
    expect(e.userMessage).toBe(
      "PostHog rejected the API key. Ask an admin to check POSTHOG_PERSONAL_API_KEY, and that POSTHOG_HOST is the region (US or EU) where the key was created.",
    );
    expect(e.retryable).toBe(false);
  });

  it("maps 403 with a missing scope to forbidden and names the scope", () => {
    const e = classify(
      403,
      body({
        type: "authentication_error",
        code: "permission_denied",
        detail: "API key missing required scope 'alert:write'",
        attr: null,
      }),
    );
    expect(e.code).toBe("forbidden");
    expect(e.missingScope).toBe("alert:write");
    expect(e.userMessage).toBe(
      "The PostHog API key is missing the alert:write scope. Ask an admin to add it.",
    );
  });

  it("maps 403 without a scope to a general forbidden message", () => {
    const e = classify(403, body({ code: "permission_denied", detail: "You do not have permission." }));
    expect(e.code).toBe("forbidden");
    expect(e.missingScope).toBeUndefined();
    expect(e.userMessage).toMatch(/not allowed/);
  });

  it("extracts scope names with underscores", () => {
    expect(parseMissingScope("API key missing required scope 'organization_member:read'")).toBe(
      "organization_member:read",
    );
    expect(parseMissingScope("Not found.")).toBeUndefined();
    expect(parseMissingScope(undefined)).toBeUndefined();
  });

  it("maps 404 to not_found worded for the resource", () => {
    const nf = body({ type: "invalid_request", code: "not_found", detail: "Not found.", attr: null });
    expect(classify(404, nf).userMessage).toBe(
      "That alert no longer exists in PostHog (it may have been deleted).",
    );
    expect(classify(404, nf, undefined, { resource: "insight" }).userMessage).toMatch(/^That insight/);
    expect(classify(404, nf).code).toBe("not_found");
  });

  it("explains an unknown project on 404", () => {
    const e = classify(404, body({ code: "not_found", detail: "Project not found." }));
    expect(e.code).toBe("not_found");
    expect(e.userMessage).toMatch(/POSTHOG_PROJECT_ID/);
  });

  it("maps 400 to validation keeping attr, code and detail", () => {
    const e = classify(
      400,
      body({
        type: "validation_error",
        code: "invalid_input",
        detail: "Alerts are not supported for this insight.",
        attr: "insight",
      }),
    );
    expect(e.code).toBe("validation");
    expect(e.attr).toBe("insight");
    expect(e.posthogCode).toBe("invalid_input");
    expect(e.detail).toBe("Alerts are not supported for this insight.");
    expect(e.userMessage).toBe("PostHog says: Alerts are not supported for this insight.");
    expect(e.message).toContain("400");
    expect(e.message).toContain("on insight");
  });

  it("keeps nested attrs and tolerates a non-JSON 400", () => {
    const nested = classify(400, {
      code: "required",
      detail: "This field is required.",
      attr: "threshold__configuration",
    });
    expect(nested.attr).toBe("threshold__configuration");
    const html = classify(400, "<html>Bad Request</html>");
    expect(html.code).toBe("validation");
    expect(html.detail).toBeUndefined();
    expect(html.userMessage).toBe("PostHog rejected the request as invalid.");
  });

  it("clips very long details to one short line", () => {
    const e = classify(400, body({ detail: `line one\n${"x".repeat(1000)}` }));
    expect(e.detail?.length).toBeLessThanOrEqual(300);
    expect(e.detail).not.toContain("\n");
  });

  it("maps 429 to rate_limited using Retry-After", () => {
    const e = classify(
      429,
      body({
        type: "throttled_error",
        code: "throttled",
        detail: "Request was throttled. Expected available in 37 seconds.",
      }),
      { "retry-after": "37" },
    );
    expect(e.code).toBe("rate_limited");
    expect(e.retryAfterSeconds).toBe(37);
    expect(e.userMessage).toBe("PostHog is rate limiting the bot; try again in 37 seconds.");
    expect(e.retryable).toBe(true);
  });

  it("falls back to the throttle detail, then to a generic wait", () => {
    const fromDetail = classify(
      429,
      body({ detail: "Request was throttled. Expected available in 12 seconds." }),
      {},
    );
    expect(fromDetail.retryAfterSeconds).toBe(12);
    const unknown = classify(429, "", {});
    expect(unknown.retryAfterSeconds).toBeUndefined();
    expect(unknown.userMessage).toBe("PostHog is rate limiting the bot; try again in a minute.");
  });

  it("reads Retry-After from a Headers object, in any case, and as an HTTP date", () => {
    expect(parseRetryAfter(new Headers({ "Retry-After": "5" }))).toBe(5);
    expect(parseRetryAfter({ "Retry-After": ["7"] })).toBe(7);
    const now = Date.parse("2025-06-02T10:00:00Z");
    expect(parseRetryAfter({ "retry-after": "Mon, 02 Jun 2025 10:00:30 GMT" }, now)).toBe(30);
    expect(parseRetryAfter({ "retry-after": "soon" })).toBeUndefined();
    expect(parseRetryAfter({})).toBeUndefined();
  });

  it("words long waits in minutes", () => {
    expect(rateLimitedMessage(1)).toBe("PostHog is rate limiting the bot; try again in 1 second.");
    expect(rateLimitedMessage(600)).toBe("PostHog is rate limiting the bot; try again in about 10 minutes.");
  });

  it.each([500, 502, 503, 504])("maps %i to unavailable", (status) => {
    const e = classify(status, "<html>oops</html>");
    expect(e.code).toBe("unavailable");
    expect(e.userMessage).toBe("PostHog is not reachable right now; try again in a minute.");
  });

  it("maps 408 to timeout and odd statuses to bad_response", () => {
    expect(classify(408, "").code).toBe("timeout");
    expect(classify(302, "").code).toBe("bad_response");
    expect(classify(600, "").userMessage).toBe("PostHog sent an answer the bot did not understand.");
  });

  it.each([301, 302, 307, 308])("says a %i means POSTHOG_HOST is not the API's address", (status) => {
    expect(classify(status, "").userMessage).toMatch(/^PostHog answered with a redirect, so POSTHOG_HOST/);
  });
});

describe("classifyNetworkError", () => {
  const coded = (code: string, cause?: unknown) =>
    Object.assign(new Error(`failure ${code}`), { code }, cause ? { cause } : {});

  it.each(["UND_ERR_CONNECT_TIMEOUT", "UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT"])(
    "maps %s to timeout",
    (code) => {
      const e = classifyNetworkError(coded(code));
      expect(e.code).toBe("timeout");
      expect(e.userMessage).toBe("PostHog took too long to answer; try again shortly.");
      expect(e.cause).toBeInstanceOf(Error);
    },
  );

  it.each(["ECONNREFUSED", "ECONNRESET", "UND_ERR_SOCKET"])("maps %s to unavailable", (code) => {
    const e = classifyNetworkError(coded(code));
    expect(e.code).toBe("unavailable");
    expect(e.userMessage).toBe("PostHog is not reachable right now; try again in a minute.");
  });

  it.each(["CERT_HAS_EXPIRED", "DEPTH_ZERO_SELF_SIGNED_CERT", "ERR_TLS_CERT_ALTNAME_INVALID"])(
    "says %s is a certificate to check, not an outage to wait out",
    (code) => {
      const e = classifyNetworkError(new TypeError("fetch failed", { cause: coded(code) }));
      expect(e.code).toBe("unavailable");
      expect(e.message).toContain(code);
      expect(e.userMessage).toMatch(/secure connection to PostHog.*check POSTHOG_HOST/);
      expect(e.userMessage).not.toMatch(/try again/);
    },
  );

  it("says a host name that does not exist is POSTHOG_HOST to check", () => {
    expect(classifyNetworkError(coded("ENOTFOUND")).userMessage).toBe(
      "The bot cannot find PostHog's host name. Ask an admin to check POSTHOG_HOST.",
    );
  });

  it("looks through causes and aggregate errors", () => {
    const wrapped = new TypeError("fetch failed", { cause: coded("UND_ERR_CONNECT_TIMEOUT") });
    expect(classifyNetworkError(wrapped).code).toBe("timeout");
    const aggregate = new AggregateError([coded("ECONNREFUSED"), coded("ECONNREFUSED")], "connect failed");
    expect(classifyNetworkError(aggregate).code).toBe("unavailable");
    expect(classifyNetworkError(aggregate).message).toContain("ECONNREFUSED");
  });

  it("treats unknown failures as unavailable and passes PostHogErrors through", () => {
    expect(classifyNetworkError("weird").code).toBe("unavailable");
    const original = badResponse("nope");
    expect(classifyNetworkError(original)).toBe(original);
  });
});

describe("isPostHogError", () => {
  it("recognises only PostHogError", () => {
    expect(isPostHogError(classify(500, ""))).toBe(true);
    expect(isPostHogError(new Error("x"))).toBe(false);
    expect(isPostHogError({ code: "not_found" })).toBe(false);
  });
});
