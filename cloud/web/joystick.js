// @ts-check
// A virtual joystick for mouse, pen and touch: drag the knob; its offset from the centre,
// (x right, y forward) each -1..1 within the circle, goes to onMove; letting go centres it.

export class Joystick {
  /**
   * @param {HTMLElement} area  the round base (the knob is its first child)
   * @param {(x: number, y: number) => void} onMove
   */
  constructor(area, onMove) {
    this.area = area;
    this.knob = /** @type {HTMLElement|null} */ (area.querySelector(".knob"));
    this.onMove = onMove;
    /** @type {number|null} */
    this.pointer = null;
    /** @type {{x: number, y: number, radius: number}} where the drag began */
    this.origin = { x: 0, y: 0, radius: 1 };
    area.addEventListener("pointerdown", (event) => {
      event.preventDefault();
      area.setPointerCapture?.(event.pointerId);
      this.pointer = event.pointerId;
      // The centre where the drag began: the panel's layout may shift under a held finger.
      const box = area.getBoundingClientRect();
      this.origin = { x: box.left + box.width / 2, y: box.top + box.height / 2,
                      radius: box.width / 2 };
      this.move(event);
    });
    area.addEventListener("pointermove", (event) => {
      if (event.pointerId === this.pointer) this.move(event);
    });
    for (const end of ["pointerup", "pointercancel", "lostpointercapture"]) {
      area.addEventListener(end, (/** @type {Event} */ event) => {
        if (/** @type {PointerEvent} */ (event).pointerId === this.pointer) this.centre();
      });
    }
    area.addEventListener("contextmenu", (event) => event.preventDefault());
  }

  /** @param {PointerEvent} event */
  move(event) {
    const { x: cx, y: cy, radius } = this.origin;
    let x = (event.clientX - cx) / radius;
    let y = (cy - event.clientY) / radius;
    const length = Math.hypot(x, y);
    if (length > 1) { x /= length; y /= length; }
    this.show(x, y);
    this.onMove(x, y);
  }

  centre() {
    /** @type {number|null} */
    this.pointer = null;
    /** @type {{x: number, y: number, radius: number}} where the drag began */
    this.origin = { x: 0, y: 0, radius: 1 };
    this.show(0, 0);
    this.onMove(0, 0);
  }

  /** @param {number} x @param {number} y */
  show(x, y) {
    if (this.knob) this.knob.style.transform = `translate(${x * 50}%, ${-y * 50}%)`;
    this.area.dataset.position = `${Math.round(y * 100)}% forward, ${Math.round(x * 100)}% right`;
  }
}
