// What one IndexedDB transaction changed, as the journal keeps it, and the few IndexedDB shapes
// this adapter touches (the project compiles without the DOM library, so they are named here).

/** A key, or a key range written out as plain data. */
export type KeyQuery = { readonly key: unknown } | { readonly lower?: unknown; readonly upper?: unknown; readonly lowerOpen: boolean; readonly upperOpen: boolean };

export type JournalOp =
  | { readonly op: "put"; readonly store: string; readonly value: unknown; readonly key?: unknown }
  | { readonly op: "delete"; readonly store: string; readonly query: KeyQuery }
  | { readonly op: "clear"; readonly store: string }
  | { readonly op: "createStore"; readonly store: string; readonly keyPath: string | string[] | null; readonly autoIncrement: boolean }
  | { readonly op: "deleteStore"; readonly store: string }
  | { readonly op: "createIndex"; readonly store: string; readonly index: string; readonly keyPath: string | string[]; readonly unique: boolean; readonly multiEntry: boolean }
  | { readonly op: "deleteIndex"; readonly store: string; readonly index: string };

/**
 * One committed IndexedDB transaction of database `db`. With `version` it was an upgrade (a
 * versionchange transaction) and is replayed as one; `dropped` records a deleted database.
 */
export interface JournalEntry {
  readonly db: string;
  readonly version?: number;
  readonly dropped?: true;
  readonly ops: JournalOp[];
}

// --- the IndexedDB surface used here ------------------------------------------------------------

export interface IdbRequest<T = unknown> {
  result: T;
  error: unknown;
  readonly transaction: IdbTransaction | null;
  onsuccess: ((event: unknown) => void) | null;
  onerror: ((event: unknown) => void) | null;
  addEventListener(type: "success" | "error", listener: () => void): void;
}

export interface IdbOpenRequest extends IdbRequest<IdbDatabase> {
  onupgradeneeded: ((event: { readonly newVersion: number | null }) => void) | null;
  onblocked: (() => void) | null;
  addEventListener(type: "success" | "error" | "upgradeneeded", listener: (event: { readonly newVersion?: number | null }) => void): void;
}

export interface IdbIndex {
  readonly name: string;
  readonly keyPath: string | string[];
  readonly unique: boolean;
  readonly multiEntry: boolean;
  readonly objectStore: IdbObjectStore;
}

export interface IdbObjectStore {
  readonly name: string;
  readonly keyPath: string | string[] | null;
  readonly autoIncrement: boolean;
  readonly indexNames: ArrayLike<string>;
  readonly transaction: IdbTransaction;
  put(value: unknown, key?: unknown): IdbRequest;
  delete(query: unknown): IdbRequest;
  clear(): IdbRequest;
  getAll(): IdbRequest<unknown[]>;
  getAllKeys(): IdbRequest<unknown[]>;
  index(name: string): IdbIndex;
  createIndex(name: string, keyPath: string | string[], options?: { unique?: boolean; multiEntry?: boolean }): IdbIndex;
  deleteIndex(name: string): void;
}

export interface IdbTransaction {
  readonly db: IdbDatabase;
  readonly mode: string;
  objectStore(name: string): IdbObjectStore;
  addEventListener(type: "complete" | "abort" | "error", listener: () => void): void;
}

export interface IdbDatabase {
  readonly name: string;
  readonly version: number;
  readonly objectStoreNames: ArrayLike<string>;
  transaction(stores: string | string[], mode?: "readonly" | "readwrite"): IdbTransaction;
  createObjectStore(name: string, options?: { keyPath?: string | string[] | null; autoIncrement?: boolean }): IdbObjectStore;
  deleteObjectStore(name: string): void;
  close(): void;
}

export interface IdbFactory {
  open(name: string, version?: number): IdbOpenRequest;
  deleteDatabase(name: string): IdbRequest;
  databases(): Promise<{ name: string; version: number }[]>;
}

export interface IdbKeyRangeStatic {
  bound(lower: unknown, upper: unknown, lowerOpen?: boolean, upperOpen?: boolean): unknown;
  lowerBound(lower: unknown, open?: boolean): unknown;
  upperBound(upper: unknown, open?: boolean): unknown;
}

/** Resolves with a request's result once it succeeds. */
export function settle<T>(request: IdbRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(toError(request.error));
  });
}

/** Resolves once a transaction has committed. */
export function committed(tx: IdbTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.addEventListener("complete", () => resolve());
    tx.addEventListener("abort", () => reject(new Error("an IndexedDB transaction was aborted")));
  });
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
