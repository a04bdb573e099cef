// @ts-check
// The page's one message slot. Each message belongs to the state it describes and is cleared
// when that state ends (the robot is back online, the API answers again, the lease is ours or
// free): a message on screen is always still true. When several are true, the most important
// one is shown.

/** @typedef {"session"|"start"|"robot"|"offline"|"unreachable"|"command"|"lease"} Kind */
/** @typedef {{kind: Kind, text: string, tone: "error"|"info"}} Message */

/** Most important first: a refused session hides everything else; what the user just did
 * comes next. */
export const PRIORITY = /** @type {Kind[]} */ (
  ["session", "start", "command", "robot", "offline", "unreachable", "lease"]);

export class Banner {
  /** @param {(message: Message|null) => void} render  shows the message (null: none) */
  constructor(render) {
    /** @type {Map<Kind, Message>} */
    this.messages = new Map();
    this.render = render;
    /** @type {Message|null} */
    this.shown = null;
  }

  /**
   * @param {Kind} kind
   * @param {string} text
   * @param {"error"|"info"} tone
   */
  set(kind, text, tone = "error") {
    this.messages.set(kind, { kind, text, tone });
    this.update();
  }

  /** @param {...Kind} kinds  the states that ended */
  clear(...kinds) {
    for (const kind of kinds) this.messages.delete(kind);
    this.update();
  }

  /** Everything but `keep` (a sign-out, another robot). @param {...Kind} keep */
  reset(...keep) {
    for (const kind of [...this.messages.keys()]) if (!keep.includes(kind)) this.messages.delete(kind);
    this.update();
  }

  /** @param {Kind} kind */
  has(kind) { return this.messages.has(kind); }

  update() {
    const kind = PRIORITY.find((k) => this.messages.has(k));
    const next = kind ? /** @type {Message} */ (this.messages.get(kind)) : null;
    if (next === this.shown) return;
    this.shown = next;
    this.render(next);
  }
}
