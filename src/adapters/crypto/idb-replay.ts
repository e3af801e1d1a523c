// Rebuilds IndexedDB databases from journal entries (upgrades replayed as real upgrades), and
// writes the databases' whole content out as entries (a snapshot, for compacting the journal).
import { IDBKeyRange } from "fake-indexeddb";
import { committed, settle } from "./idb-entry.ts";
import type { IdbDatabase, IdbFactory, IdbKeyRangeStatic, IdbObjectStore, IdbTransaction, JournalEntry, JournalOp, KeyQuery } from "./idb-entry.ts";

const KeyRange = IDBKeyRange as unknown as IdbKeyRangeStatic;

/** Applies `entries` in order to the databases of `factory` (which must not record them). */
export async function replay(factory: IdbFactory, entries: Iterable<JournalEntry>): Promise<void> {
  const connections = new Map<string, IdbDatabase>();
  const connection = async (name: string): Promise<IdbDatabase> => {
    const open = connections.get(name) ?? (await settle(factory.open(name)));
    connections.set(name, open);
    return open;
  };
  try {
    for (const entry of entries) {
      if (entry.dropped === true) {
        connections.get(entry.db)?.close();
        connections.delete(entry.db);
        await settle(factory.deleteDatabase(entry.db));
      } else if (entry.version !== undefined) {
        const current = await connection(entry.db);
        // An upgrade the snapshot already holds (it was journaled again after it): done.
        if (entry.version <= current.version) continue;
        current.close();
        connections.delete(entry.db);
        const request = factory.open(entry.db, entry.version);
        request.onupgradeneeded = () => {
          const tx = request.transaction;
          if (tx !== null) apply(request.result, tx, entry.ops);
        };
        connections.set(entry.db, await settle(request));
      } else if (entry.ops.length > 0) {
        const db = await connection(entry.db);
        const tx = db.transaction([...new Set(entry.ops.map((op) => op.store))], "readwrite");
        const done = committed(tx);
        apply(db, tx, entry.ops);
        await done;
      }
    }
  } finally {
    for (const db of connections.values()) db.close();
  }
}

// Requests are all made at once (no await in between): a transaction commits once it has
// nothing left to do, so awaiting each would end it early.
function apply(db: IdbDatabase, tx: IdbTransaction, ops: readonly JournalOp[]): void {
  for (const op of ops) {
    switch (op.op) {
      case "createStore":
        db.createObjectStore(op.store, { keyPath: op.keyPath, autoIncrement: op.autoIncrement });
        break;
      case "deleteStore":
        db.deleteObjectStore(op.store);
        break;
      case "createIndex":
        tx.objectStore(op.store).createIndex(op.index, op.keyPath, { unique: op.unique, multiEntry: op.multiEntry });
        break;
      case "deleteIndex":
        tx.objectStore(op.store).deleteIndex(op.index);
        break;
      case "put": {
        const store = tx.objectStore(op.store);
        if (op.key === undefined) store.put(op.value);
        else store.put(op.value, op.key);
        break;
      }
      case "delete":
        tx.objectStore(op.store).delete(queryOf(op.query));
        break;
      case "clear":
        tx.objectStore(op.store).clear();
        break;
    }
  }
}

function queryOf(query: KeyQuery): unknown {
  if ("key" in query) return query.key;
  if (query.lower !== undefined && query.upper !== undefined) return KeyRange.bound(query.lower, query.upper, query.lowerOpen, query.upperOpen);
  if (query.lower !== undefined) return KeyRange.lowerBound(query.lower, query.lowerOpen);
  return KeyRange.upperBound(query.upper, query.upperOpen);
}

/** Every database of `factory` as one upgrade entry each: its schema and all its records. */
export async function snapshot(factory: IdbFactory): Promise<JournalEntry[]> {
  const entries: JournalEntry[] = [];
  for (const { name } of await factory.databases()) {
    const db = await settle(factory.open(name));
    try {
      entries.push(await snapshotOf(db));
    } finally {
      db.close();
    }
  }
  return entries;
}

async function snapshotOf(db: IdbDatabase): Promise<JournalEntry> {
  const names = Array.from(db.objectStoreNames);
  const ops: JournalOp[] = [];
  if (names.length === 0) return { db: db.name, version: db.version, ops };
  const tx = db.transaction(names, "readonly");
  const reads: { store: IdbObjectStore; keys: Promise<unknown[]>; values: Promise<unknown[]> }[] = [];
  for (const name of names) {
    const store = tx.objectStore(name);
    ops.push({ op: "createStore", store: name, keyPath: store.keyPath, autoIncrement: store.autoIncrement });
    for (const indexName of Array.from(store.indexNames)) {
      const index = store.index(indexName);
      ops.push({ op: "createIndex", store: name, index: indexName, keyPath: index.keyPath, unique: index.unique, multiEntry: index.multiEntry });
    }
    reads.push({ store, keys: settle(store.getAllKeys()), values: settle(store.getAll()) });
  }
  for (const { store, keys, values } of reads) {
    const [k, v] = await Promise.all([keys, values]);
    const inline = store.keyPath !== null;
    v.forEach((value, i) => ops.push(inline ? { op: "put", store: store.name, value } : { op: "put", store: store.name, value, key: k[i] }));
  }
  return { db: db.name, version: db.version, ops };
}
