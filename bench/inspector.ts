// A full garbage collection in another Node process through its inspector (started with
// --inspect), so memory is read without the garbage that happens to be uncollected just then.

/** The inspector's WebSocket URL, from the "Debugger listening on ws://…" line a process printed. */
export function inspectorUrl(output: string): string | undefined {
  return /Debugger listening on (ws:\/\/\S+)/.exec(output)?.[1];
}

/** Runs a full GC in the process behind `url`; resolves with its JS heap in use afterwards, in MB. */
export async function collectGarbage(url: string): Promise<number> {
  const ws = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener("open", () => resolve(), { once: true });
    ws.addEventListener("error", () => reject(new Error(`cannot reach the inspector at ${url}`)), { once: true });
  });
  let nextId = 0;
  const pending = new Map<number, (result: Record<string, unknown>) => void>();
  ws.addEventListener("message", (message: MessageEvent) => {
    const data = JSON.parse(String(message.data)) as { id?: number; result?: Record<string, unknown> };
    if (data.id !== undefined) pending.get(data.id)?.(data.result ?? {});
  });
  const call = (method: string): Promise<Record<string, unknown>> =>
    new Promise((resolve) => {
      nextId += 1;
      pending.set(nextId, resolve);
      ws.send(JSON.stringify({ id: nextId, method }));
    });
  try {
    // Twice: objects with finalizers and weak references need a second pass.
    await call("HeapProfiler.collectGarbage");
    await call("HeapProfiler.collectGarbage");
    const usage = await call("Runtime.getHeapUsage");
    return Number(usage["usedSize"]) / 1024 ** 2;
  } finally {
    ws.close();
  }
}
