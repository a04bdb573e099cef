// @ts-check
// This browser's open control pages, so a lease held by another of them reads "you (other
// tab)". Each page writes its viewer client id into localStorage (shared by the browser's tabs)
// and removes it when it closes; entries a crash left behind expire after a day.

import { parse } from "./safejson.js";

const KEY = "robot-tabs";
export const FORGET_MS = 24 * 3600 * 1000;

/**
 * The registry after `client` arrives (`at` set) or leaves (`at` null), stale entries dropped.
 * @param {unknown} stored  what localStorage held (parsed), anything
 * @param {string} client
 * @param {number|null} at  wall-clock ms
 * @param {number} now
 * @returns {Record<string, number>}
 */
export function updateTabs(stored, client, at, now) {
  /** @type {Record<string, number>} */
  const tabs = {};
  if (stored && typeof stored === "object" && !Array.isArray(stored)) {
    for (const [id, seen] of Object.entries(stored)) {
      if (typeof seen === "number" && now - seen < FORGET_MS) tabs[id] = seen;
    }
  }
  if (at === null) delete tabs[client]; else tabs[client] = at;
  return tabs;
}

export class Tabs {
  /**
   * @param {string} client  this page's id
   * @param {Storage} storage
   */
  constructor(client, storage = localStorage) {
    this.client = client;
    this.storage = storage;
  }

  /** @param {number|null} at */
  write(at) {
    const tabs = updateTabs(parse(this.storage.getItem(KEY) || "{}", 16384), this.client, at,
      Date.now());
    this.storage.setItem(KEY, JSON.stringify(tabs));
  }

  /** The other tabs' client ids. */
  others() {
    const tabs = updateTabs(parse(this.storage.getItem(KEY) || "{}", 16384), this.client, null,
      Date.now());
    return new Set(Object.keys(tabs));
  }
}
