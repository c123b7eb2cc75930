// A PostHog thread worker that cannot load, as a broken build's would.
throw new Error("this worker cannot load");
