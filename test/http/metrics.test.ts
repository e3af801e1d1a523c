import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PromMetrics, bridgeSource } from "../../src/adapters/http/metrics.ts";

describe("bridgeSource", () => {
  const cases: readonly (readonly [sender: string, source: string])[] = [
    ["@telegram_123456:example.com", "telegram"],
    ["@whatsapp_4915112345678:example.com", "whatsapp"],
    ["@whatsapp_lid-123:example.com", "whatsapp"],
    ["@signal_0b7f1c2e-aaaa-bbbb-cccc-1234567890ab:example.com", "signal"],
    ["@_discord_123456789:example.com", "discord"],
    ["@slack_T123-U456:example.com", "slack"],
    ["@gmessages_1.2:example.com", "gmessages"],
    ["@Telegram_1:example.com", "telegram"],
    ["@alice:example.com", "matrix"],
    ["@anna_1990:example.com", "matrix"],
    ["@telegram:example.com", "matrix"],
    ["@telegram_:example.com", "matrix"],
    ["@telegrambot_1:example.com", "matrix"],
  ];
  for (const [sender, source] of cases) {
    it(`${sender} → ${source}`, () => assert.equal(bridgeSource(sender), source));
  }
});

describe("PromMetrics", () => {
  it("shows the engine: event attempts by outcome, the queue, handling time, jobs and tasks", async () => {
    const m = new PromMetrics();
    m.eventAttempt("handled");
    m.eventAttempt("handled");
    m.eventAttempt("retry");
    m.eventAttempt("failed");
    m.eventsPending(12, 3);
    m.eventHandled(0.2);
    m.jobRun("redmine.opened", "done");
    m.jobRun("redmine.opened", "retry");
    m.jobsQueued({ pending: new Map([["redmine.opened", 4]]), failed: new Map([["redmine.closed", 1]]) });
    m.jobsQueued({ pending: new Map([["redmine.opened", 2]]), failed: new Map() });
    m.taskRun("auto-close", "done");
    const text = (await m.render()).body;
    assert.match(text, /^honoroit_events_total\{outcome="handled"\} 2$/m);
    assert.match(text, /^honoroit_events_total\{outcome="retry"\} 1$/m);
    assert.match(text, /^honoroit_events_total\{outcome="failed"\} 1$/m);
    assert.match(text, /^honoroit_events_queued 12$/m);
    assert.match(text, /^honoroit_events_in_flight 3$/m);
    assert.match(text, /^honoroit_event_handling_seconds_count 1$/m);
    assert.match(text, /^honoroit_jobs_total\{kind="redmine.opened",outcome="retry"\} 1$/m);
    assert.match(text, /^honoroit_jobs_pending\{kind="redmine.opened"\} 2$/m, "the latest counts");
    assert.doesNotMatch(text, /^honoroit_jobs_failed\{kind="redmine.closed"\}/m, "a kind no longer failing is gone");
    assert.match(text, /^honoroit_tasks_total\{task="auto-close",outcome="done"\} 1$/m);
  });

  it("keeps the Go bot's series names, each on its own registry", async () => {
    const a = new PromMetrics();
    const b = new PromMetrics();
    const labelled = new PromMetrics({ customerLabels: true });
    labelled.customerMessage("telegram", "@telegram_1:example.com", "example.com");
    assert.match((await labelled.render()).body, /^honoroit_messages_customer\{source="telegram",sender="@telegram_1:example.com",domain="example.com"\} 1$/m);
    a.requestNew();
    a.requestNew();
    a.requestDone();
    a.customerMessage("telegram", "@telegram_1:example.com", "example.com");
    a.operatorMessage();
    let open = 3;
    a.countOpenTicketsWith(() => Promise.resolve(open));
    const text = (await a.render()).body;
    assert.match(text, /^honoroit_request_new 2$/m);
    assert.match(text, /^honoroit_request_done 1$/m);
    assert.match(text, /^honoroit_messages_total 2$/m);
    assert.match(text, /^honoroit_messages_operator 1$/m);
    assert.match(text, /^honoroit_messages_customer\{source="telegram",domain="example.com"\} 1$/m, "no Matrix ID by default");
    assert.match(text, /^honoroit_tickets_open 3$/m);
    open = 4;
    assert.match((await a.render()).body, /^honoroit_tickets_open 4$/m, "counted at each scrape, not lagging");
    assert.doesNotMatch(text, /honoroit_request_new_total/);
    assert.match((await b.render()).body, /^honoroit_request_new 0$/m, "a second instance starts from zero");
  });

  it("has relay latency by direction, event errors by kind and the sync lag", async () => {
    const m = new PromMetrics();
    m.relayLatency("customer-to-thread", 0.2);
    m.relayLatency("operator-to-customer", 3);
    m.eventError("unavailable");
    m.eventError("unavailable");
    m.eventError("final");
    m.syncLag(1.5);
    m.countOpenTicketsWith(() => Promise.reject(new Error("database down")));
    const text = (await m.render()).body;
    assert.match(text, /^honoroit_relay_seconds_bucket\{le="0.25",direction="customer-to-thread"\} 1$/m);
    assert.match(text, /^honoroit_relay_seconds_bucket\{le="2.5",direction="operator-to-customer"\} 0$/m);
    assert.match(text, /^honoroit_relay_seconds_count\{direction="operator-to-customer"\} 1$/m);
    assert.match(text, /^honoroit_errors_total\{kind="unavailable"\} 2$/m);
    assert.match(text, /^honoroit_errors_total\{kind="final"\} 1$/m);
    assert.match(text, /^honoroit_sync_lag_seconds 1.5$/m);
    assert.match(text, /^honoroit_tickets_open 0$/m, "an unreachable database leaves the gauge as it was");
  });
});
