// @ts-check
// The robot's live video: the KVS WebRTC browser SDK as VIEWER. In AWS the SDK signs its
// WebSocket URL with the identity pool's credentials; locally a custom request signer returns
// the local relay's ws:// URL with the token, and everything else is the same code.

import { identityCredentials, viewerEndpoints } from "./aws.js";
import { DriveChannel } from "./channel.js";

const RETRY_MS = [1000, 2000, 4000, 8000];
const FIRST_FRAME_TIMEOUT_MS = 10000;
// No new frame for this long: the picture on screen is not live any more (the connection
// takes seconds more to notice).
export const FROZEN_MS = 1500;

/** What identifies a session: the local token, or the Cognito ID token.
 * @param {import("./auth.js").Session|null} session */
export const sessionKey = (session) => (session ? session.token || session.idToken : null);

export class Viewer {
  /**
   * @param {HTMLVideoElement} video
   * @param {import("./auth.js").PageConfig} config  the page's config.json
   * @param {import("./auth.js").Auth} auth
   * @param {(text: string, live: boolean) => void} onState
   * @param {import("./channel.js").ChannelEvents} channelEvents  handlers for each
   *   connection's drive channel (channel.js)
   */
  constructor(video, config, auth, onState, channelEvents = {}) {
    this.video = video;
    this.config = config;
    this.auth = auth;
    this.onState = onState;
    this.channelEvents = channelEvents;
    /** @type {import("./channel.js").DriveChannel|null} the current connection's channel */
    this.channel = null;
    this.channelState = false; // the current channel has pushed the robot's state
    this.tag = Math.random().toString(36).slice(2, 10).padEnd(8, "0");
    this.clientId = `viewer-${this.tag}`;
    this.attempt = 0;
    this.generation = 0;
    /** @type {number|null} */
    this.firstFrameAt = null;
    /** @type {string|null} */
    this.robot = null;
    /** @type {string|null} */
    this.admittedAs = null;
    /** @type {any} the SDK's SignalingClient */
    this.signaling = null;
    /** @type {RTCPeerConnection|null} */
    this.pc = null;
    /** @type {ReturnType<typeof setTimeout>|undefined} */
    this.watchdog = undefined;
    /** @type {ReturnType<typeof setTimeout>|undefined} */
    this.retryTimer = undefined;
  }

  /**
   * Where and how to connect as a viewer of `robot`.
   * @param {string} robot
   * @returns {Promise<{arn: string, wss: string, region: string, iceServers: RTCIceServer[],
   *   credentials: import("./aws.js").Credentials|null, signer: object|undefined}>}
   */
  async endpoints(robot) {
    const config = this.config;
    if (config.mode === "local") {
      const session = this.auth.session();
      const token = (session && session.token) || "";
      return {
        arn: String(config.channelArn).replace("{name}", robot),
        wss: String(config.signalingUrl), region: "local", iceServers: [], credentials: null,
        signer: { getSignedURL: async (/** @type {string} */ endpoint,
                                       /** @type {Record<string, string>} */ params) =>
          `${endpoint}?${new URLSearchParams({ ...params, token })}` },
      };
    }
    const region = String(config.region);
    const session = this.auth.session();
    const credentials = await identityCredentials(this.auth.cognito, region,
      String(session && session.idToken), config.endpoints,
      (config.viewerRoles || {})[robot] || null);
    const found = await viewerEndpoints(robot, region, credentials,
      (config.channels || {})[robot], config.endpoints);
    return { ...found, region, credentials, signer: undefined };
  }

  /**
   * Carry a name in this viewer's id (locally, where no account names people): the robot
   * shows the driver by this id, and other pages read the name from it (lease.js).
   * @param {string|null} name
   */
  rename(name) {
    const slug = (name || "").trim().replace(/[^A-Za-z0-9_-]+/g, "-").replace(/^-+|-+$/g, "")
      .slice(0, 24);
    this.clientId = slug ? `${slug}.${this.tag}` : `viewer-${this.tag}`;
  }

  /** Watch `robot`; replaces any previous connection. @param {string} robot */
  async start(robot) {
    this.stop();
    const generation = ++this.generation;
    this.robot = robot;
    this.onState("Connecting video…", false);
    let ep;
    try {
      ep = await this.endpoints(robot);
    } catch (error) {
      this.retry(generation, `Video unavailable: ${error instanceof Error ? error.message : error}`);
      return;
    }
    if (generation !== this.generation) return;
    // The session this connection was admitted with; its drive channel speaks for it only.
    this.admittedAs = sessionKey(this.auth.session()) || null;
    const { SignalingClient, Role } = window.KVSWebRTC;
    this.channelState = false;
    const signaling = new SignalingClient({
      channelARN: ep.arn, channelEndpoint: ep.wss, clientId: this.clientId, role: Role.VIEWER,
      region: ep.region, credentials: ep.credentials, requestSigner: ep.signer,
      systemClockOffset: 0,
    });
    const pc = new RTCPeerConnection({ iceServers: ep.iceServers });
    this.signaling = signaling;
    this.pc = pc;
    pc.addTransceiver("video", { direction: "recvonly" });
    // Opened by the viewer before the offer, so it rides on the same connection as the video.
    this.channel = new DriveChannel(pc, this.channelEvents);
    pc.ontrack = (event) => {
      this.video.srcObject = event.streams[0] || new MediaStream([event.track]);
      this.video.play().catch(() => {});
    };
    pc.onicecandidate = ({ candidate }) => {
      if (candidate && candidate.candidate) signaling.sendIceCandidate(candidate);
    };
    pc.onconnectionstatechange = () => {
      if (generation !== this.generation) return;
      if (pc.connectionState === "failed" || pc.connectionState === "disconnected") {
        this.retry(generation, "Video connection lost; reconnecting…");
      }
    };
    signaling.on("open", async () => {
      await pc.setLocalDescription(await pc.createOffer());
      signaling.sendSdpOffer(pc.localDescription);
    });
    signaling.on("sdpAnswer", (/** @type {RTCSessionDescriptionInit} */ answer) =>
      pc.setRemoteDescription(answer).catch(() => {}));
    signaling.on("iceCandidate", (/** @type {RTCIceCandidateInit} */ candidate) =>
      pc.addIceCandidate(candidate).catch(() => {}));
    signaling.on("error", () => this.retry(generation, "Video signaling error; retrying…"));
    signaling.open();
    this.watchdog = setTimeout(() => {
      if (!this.firstFrameAt) this.retry(generation, "No video from the robot yet; retrying…");
    }, FIRST_FRAME_TIMEOUT_MS);
    this.watchFrames(generation);
  }

  /** "Live" only while frames keep coming. @param {number} generation */
  watchFrames(generation) {
    const video = this.video;
    let lastTime = -1;
    let movedAt = performance.now();
    const tick = () => {
      if (generation !== this.generation) return;
      if (video.readyState >= 2 && video.videoWidth > 0) {
        const now = performance.now();
        if (!this.firstFrameAt) this.firstFrameAt = now;
        this.attempt = 0;
        if (video.currentTime !== lastTime) { lastTime = video.currentTime; movedAt = now; }
        const still = now - movedAt;
        if (still < FROZEN_MS) this.onState(`Live · ${video.videoWidth}×${video.videoHeight}`, true);
        else this.onState(`No new picture for ${Math.round(still / 1000)} s; waiting for the robot…`, false);
      }
      if (video.requestVideoFrameCallback && !this.firstFrameAt) {
        video.requestVideoFrameCallback(tick);
      } else {
        setTimeout(tick, this.firstFrameAt ? 500 : 100);
      }
    };
    tick();
  }

  /** @param {number} generation @param {string} text */
  retry(generation, text) {
    if (generation !== this.generation) return;
    this.stop();
    const wait = RETRY_MS[Math.min(this.attempt++, RETRY_MS.length - 1)];
    this.onState(text, false);
    const next = ++this.generation;
    this.retryTimer = setTimeout(() => { if (next === this.generation && this.robot) this.start(this.robot); },
      wait);
  }

  stop() {
    this.generation++; // a start() still on its way, or its callbacks, must not revive it
    clearTimeout(this.watchdog);
    clearTimeout(this.retryTimer);
    this.firstFrameAt = null;
    if (this.signaling) { try { this.signaling.close(); } catch { /* already closed */ } }
    const channel = this.channel;
    if (this.pc) this.pc.close();
    this.signaling = null;
    this.pc = null;
    this.channel = null;
    this.channelState = false;
    if (channel) this.channelEvents.onClose?.(channel); // closing the connection fires none
    this.video.srcObject = null;
  }
}
