// Records what each committed IndexedDB transaction changed, so the crypto machine's state
// (kept in fake-indexeddb, in memory) can be journaled into our database and rebuilt from it.
// fake-indexeddb's classes get hooks once per process: a write is recorded when its request
// succeeds (values cloned at the call, as IndexedDB itself does), and the transaction's ops are
// handed over when it commits; an aborted transaction's are dropped.
import {
  IDBCursor,
  IDBCursorWithValue,
  IDBDatabase,
  IDBFactory,
  IDBIndex,
  IDBKeyRange,
  IDBObjectStore,
  IDBOpenDBRequest,
  IDBRequest,
  IDBTransaction,
  IDBVersionChangeEvent,
} from "fake-indexeddb";
import type { IdbDatabase, IdbFactory, IdbIndex, IdbObjectStore, IdbRequest, IdbTransaction, JournalEntry, JournalOp, KeyQuery } from "./idb-entry.ts";

interface TxRecord {
  readonly recorder: IdbRecorder;
  readonly entry: { db: string; version?: number; ops: JournalOp[] };
}

const recorders = new WeakMap<IdbDatabase, IdbRecorder>();
const versionTransactions = new WeakMap<IdbDatabase, IdbTransaction>();
const records = new WeakMap<IdbTransaction, TxRecord>();
const HOOKED = Symbol.for("honoroit.idb-recorder");

/**
 * An IndexedDB (its own fake-indexeddb factory) whose committed changes are collected as
 * journal entries until taken. Opened databases are recorded only through `factory`.
 */
export class IdbRecorder {
  readonly factory: IdbFactory;
  /** The same databases, unrecorded: for replaying the journal into them. */
  readonly raw: IdbFactory;
  private pending: JournalEntry[] = [];
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];

  constructor() {
    hookOnce();
    const factory = new (IDBFactory as unknown as new () => IdbFactory)();
    this.raw = factory;
    const open = factory.open.bind(factory);
    const remove = factory.deleteDatabase.bind(factory);
    this.factory = {
      databases: () => factory.databases(),
      open: (name, version) => {
        const request = version === undefined ? open(name) : open(name, version);
        const claim = (): void => {
          recorders.set(request.result, this);
          const upgrade = request.transaction;
          if (upgrade === null) return;
          versionTransactions.set(request.result, upgrade);
          // An upgrade that changes nothing still moves the version.
          this.recordOf(upgrade);
        };
        // Listeners run before the on… handler the caller sets, so the upgrade is recorded.
        request.addEventListener("upgradeneeded", claim);
        request.addEventListener("success", claim);
        return request;
      },
      deleteDatabase: (name) => {
        const request = remove(name);
        request.addEventListener("success", () => this.committed({ db: name, dropped: true, ops: [] }));
        return request;
      },
    };
  }

  /** Makes this recorder's IndexedDB the one the crypto machine finds (the globals it uses). */
  installGlobals(): void {
    const globals: Record<string, unknown> = {
      indexedDB: this.factory,
      IDBCursor,
      IDBCursorWithValue,
      IDBDatabase,
      IDBFactory,
      IDBIndex,
      IDBKeyRange,
      IDBObjectStore,
      IDBOpenDBRequest,
      IDBRequest,
      IDBTransaction,
      IDBVersionChangeEvent,
    };
    for (const [name, value] of Object.entries(globals)) {
      Object.defineProperty(globalThis, name, { value, writable: true, configurable: true, enumerable: false });
    }
  }

  /** The entries committed since the last call, in commit order. */
  take(): JournalEntry[] {
    const taken = this.pending;
    this.pending = [];
    return taken;
  }

  /** Resolves once no transaction that wrote something is still open. */
  idle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** @internal the hooks' entry point */
  record(tx: IdbTransaction, op: JournalOp): void {
    this.recordOf(tx).entry.ops.push(op);
  }

  private recordOf(tx: IdbTransaction): TxRecord {
    const known = records.get(tx);
    if (known !== undefined) return known;
    const db = tx.db;
    const entry: TxRecord["entry"] = { db: db.name, ops: [] };
    if (tx.mode === "versionchange") entry.version = db.version;
    const record = { recorder: this, entry };
    records.set(tx, record);
    this.inFlight += 1;
    tx.addEventListener("complete", () => this.finished(entry));
    tx.addEventListener("abort", () => this.finished(undefined));
    return record;
  }

  private finished(entry: JournalEntry | undefined): void {
    if (entry !== undefined) this.committed(entry);
    this.inFlight -= 1;
    if (this.inFlight === 0) for (const wake of this.idleWaiters.splice(0)) wake();
  }

  private committed(entry: JournalEntry): void {
    this.pending.push(entry);
  }
}

function recorderOf(tx: IdbTransaction): IdbRecorder | undefined {
  return recorders.get(tx.db);
}

/** Records `op` against `tx` once `request` succeeds. */
function onSuccess(request: IdbRequest, tx: IdbTransaction, op: () => JournalOp): void {
  const recorder = recorderOf(tx);
  if (recorder === undefined) return;
  const made = op();
  request.addEventListener("success", () => recorder.record(tx, made));
}

/** A key or an IDBKeyRange as plain data. */
export function keyQuery(query: unknown): KeyQuery {
  if (query instanceof (IDBKeyRange as unknown as new () => object)) {
    const range = query as { lower: unknown; upper: unknown; lowerOpen: boolean; upperOpen: boolean };
    return { lower: range.lower, upper: range.upper, lowerOpen: range.lowerOpen, upperOpen: range.upperOpen };
  }
  return { key: structuredClone(query) };
}

type Method = (this: unknown, ...args: unknown[]) => unknown;

function hook(proto: object, name: string, wrap: (original: Method) => Method): void {
  const target = proto as Record<string, Method>;
  const original = target[name];
  if (original === undefined) throw new Error(`fake-indexeddb has no ${name} to hook`);
  target[name] = wrap(original);
}

function hookOnce(): void {
  const storeProto = (IDBObjectStore as unknown as { prototype: object }).prototype;
  if ((storeProto as Record<symbol, unknown>)[HOOKED] === true) return;
  (storeProto as Record<symbol, unknown>)[HOOKED] = true;

  for (const name of ["put", "add"]) {
    hook(storeProto, name, (original) => function (this: unknown, ...args: unknown[]) {
      const store = this as IdbObjectStore;
      const request = original.apply(this, args) as IdbRequest;
      const recorder = recorderOf(store.transaction);
      if (recorder !== undefined) {
        const value = structuredClone(args[0]);
        const explicit = args.length > 1 && args[1] !== undefined;
        const key = explicit ? structuredClone(args[1]) : undefined;
        request.addEventListener("success", () => {
          // A generated key is kept, so the replay puts the record under the same one.
          const outOfLine = store.keyPath === null;
          const put: JournalOp = outOfLine
            ? { op: "put", store: store.name, value, key: explicit ? key : request.result }
            : { op: "put", store: store.name, value };
          recorder.record(store.transaction, put);
        });
      }
      return request;
    });
  }
  hook(storeProto, "delete", (original) => function (this: unknown, ...args: unknown[]) {
    const store = this as IdbObjectStore;
    const request = original.apply(this, args) as IdbRequest;
    onSuccess(request, store.transaction, () => ({ op: "delete", store: store.name, query: keyQuery(args[0]) }));
    return request;
  });
  hook(storeProto, "clear", (original) => function (this: unknown, ...args: unknown[]) {
    const store = this as IdbObjectStore;
    const request = original.apply(this, args) as IdbRequest;
    onSuccess(request, store.transaction, () => ({ op: "clear", store: store.name }));
    return request;
  });
  hook(storeProto, "createIndex", (original) => function (this: unknown, ...args: unknown[]) {
    const store = this as IdbObjectStore;
    const index = original.apply(this, args) as IdbIndex;
    recorderOf(store.transaction)?.record(store.transaction, {
      op: "createIndex", store: store.name, index: index.name, keyPath: structuredClone(index.keyPath), unique: index.unique, multiEntry: index.multiEntry,
    });
    return index;
  });
  hook(storeProto, "deleteIndex", (original) => function (this: unknown, ...args: unknown[]) {
    const store = this as IdbObjectStore;
    const result = original.apply(this, args);
    recorderOf(store.transaction)?.record(store.transaction, { op: "deleteIndex", store: store.name, index: String(args[0]) });
    return result;
  });

  const cursorProto = (IDBCursor as unknown as { prototype: object }).prototype;
  hook(cursorProto, "update", (original) => function (this: unknown, ...args: unknown[]) {
    const cursor = this as { source: IdbObjectStore | IdbIndex; primaryKey: unknown };
    const store = "objectStore" in cursor.source ? cursor.source.objectStore : cursor.source;
    const request = original.apply(this, args) as IdbRequest;
    const key = structuredClone(cursor.primaryKey);
    const value = structuredClone(args[0]);
    onSuccess(request, store.transaction, () => (store.keyPath === null ? { op: "put", store: store.name, value, key } : { op: "put", store: store.name, value }));
    return request;
  });
  hook(cursorProto, "delete", (original) => function (this: unknown, ...args: unknown[]) {
    const cursor = this as { source: IdbObjectStore | IdbIndex; primaryKey: unknown };
    const store = "objectStore" in cursor.source ? cursor.source.objectStore : cursor.source;
    const request = original.apply(this, args) as IdbRequest;
    const key = structuredClone(cursor.primaryKey);
    onSuccess(request, store.transaction, () => ({ op: "delete", store: store.name, query: { key } }));
    return request;
  });

  const dbProto = (IDBDatabase as unknown as { prototype: object }).prototype;
  hook(dbProto, "createObjectStore", (original) => function (this: unknown, ...args: unknown[]) {
    const store = original.apply(this, args) as IdbObjectStore;
    recorderOf(store.transaction)?.record(store.transaction, {
      op: "createStore", store: store.name, keyPath: structuredClone(store.keyPath), autoIncrement: store.autoIncrement,
    });
    return store;
  });
  hook(dbProto, "deleteObjectStore", (original) => function (this: unknown, ...args: unknown[]) {
    const result = original.apply(this, args);
    const tx = versionTransactions.get(this as IdbDatabase);
    if (tx !== undefined) recorderOf(tx)?.record(tx, { op: "deleteStore", store: String(args[0]) });
    return result;
  });
}
