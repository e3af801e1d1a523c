import { MemoryStore } from "../support/memory-store.ts";
import { storeContract } from "./store-contract.ts";

storeContract("memory", () => Promise.resolve(new MemoryStore()));
