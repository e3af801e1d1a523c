// Reading untyped JSON from the homeserver without trusting its shape.

/** A JSON object as received: nothing about its fields is known yet. */
export type JsonObject = Readonly<Record<string, unknown>>;

/** True for a plain JSON object (not null, not an array). */
export function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The field when it is an object, else undefined. */
export function objectAt(obj: JsonObject | undefined, key: string): JsonObject | undefined {
  const value = obj?.[key];
  return isObject(value) ? value : undefined;
}

/** The field when it is a string, else undefined. */
export function stringAt(obj: JsonObject | undefined, key: string): string | undefined {
  const value = obj?.[key];
  return typeof value === "string" ? value : undefined;
}

/** The field when it is a finite number, else undefined. */
export function numberAt(obj: JsonObject | undefined, key: string): number | undefined {
  const value = obj?.[key];
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}

/** The field when it is an array, else an empty array. */
export function arrayAt(obj: JsonObject | undefined, key: string): readonly unknown[] {
  const value = obj?.[key];
  return Array.isArray(value) ? (value as unknown[]) : [];
}
