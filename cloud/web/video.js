// The robot's live video: the KVS WebRTC browser SDK as VIEWER. In AWS the SDK signs its
// WebSocket URL with the identity pool's credentials; locally a custom request signer returns
// the local relay's ws:// URL with the token, and everything else is the same code.

import { identityCredentials, viewerEndpoints } from "./aws.js";
import { DriveChannel } from "./channel.js";

const RETRY_MS = [1000, 2000, 4000, 8000];

/** What identifies a session: the local token, or the Cognito ID token. */
export const sessionKey = (session) => (session ? session.token || session.idToken : null);
const FIRST_FRAME_TIMEOUT_MS = 10000;

export class Viewer {
  /**
   * @param {HTMLVideoElement} video
   * @param {object} config  the page's config.json
   * @param {import("./auth.js").Auth} auth
   * @param {(text: string, live: boolean) => void} onState
   * @param {object} channelEvents  handlers for each connection's drive channel (channel.js)
   */
  constructor(video, config, auth, onState, channelEvents = {}) {
    this.video = video;
    this.config = config;
    this.auth = auth;
    this.onState = onState;
    this.channelEvents = channelEvents;
    this.channel = null; // the current connection's drive channel
    this.clientId = `viewer-${Math.random().toString(36).slice(2, 10)}`;
    this.attempt = 0;
    this.generation = 0;
    this.firstFrameAt = null;
  }

  async endpoints(robot) {
    if (this.config.mode === "local") {
      const session = this.auth.session();
      const token = session ? session.token : "";
      return {
        arn: this.config.channelArn.replace("{name}", robot),
        wss: this.config.signalingUrl, region: "local", iceServers: [], credentials: null,
        signer: { getSignedURL: async (endpoint, params) =>
          `${endpoint}?${new URLSearchParams({ ...params, token })}` },
      };
    }
    const region = this.config.region;
    const credentials = await identityCredentials(this.config.cognito, region,
      this.auth.session().idToken, (this.config.viewerRoles || {})[robot]);
    const found = await viewerEndpoints(robot, region, credentials,
      (this.config.channels || {})[robot]);
    return { ...found, region, credentials, signer: undefined };
  }

  /** Watch `robot`; replaces any previous connection. */
  async start(robot) {
    this.stop();
    const generation = ++this.generation;
    this.robot = robot;
    this.onState("Connecting video…", false);
    let ep;
    try {
      ep = await this.endpoints(robot);
    } catch (error) {
      this.retry(generation, `Video unavailable: ${error.message}`);
      return;
    }
    if (generation !== this.generation) return;
    // The session this connection was admitted with; its drive channel speaks for it only.
    this.admittedAs = sessionKey(this.auth.session());
    const { SignalingClient, Role } = window.KVSWebRTC;
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
    signaling.on("sdpAnswer", (answer) => pc.setRemoteDescription(answer).catch(() => {}));
    signaling.on("iceCandidate", (candidate) => pc.addIceCandidate(candidate).catch(() => {}));
    signaling.on("error", () => this.retry(generation, "Video signaling error; retrying…"));
    signaling.open();
    this.watchdog = setTimeout(() => {
      if (!this.firstFrameAt) this.retry(generation, "No video from the robot yet; retrying…");
    }, FIRST_FRAME_TIMEOUT_MS);
    this.watchFrames(generation);
  }

  watchFrames(generation) {
    const tick = () => {
      if (generation !== this.generation) return;
      if (this.video.readyState >= 2 && this.video.videoWidth > 0) {
        if (!this.firstFrameAt) this.firstFrameAt = performance.now();
        this.attempt = 0;
        this.onState(`Live · ${this.video.videoWidth}×${this.video.videoHeight}`, true);
      }
      if (this.video.requestVideoFrameCallback && !this.firstFrameAt) {
        this.video.requestVideoFrameCallback(tick);
      } else {
        setTimeout(tick, this.firstFrameAt ? 1000 : 100);
      }
    };
    tick();
  }

  retry(generation, text) {
    if (generation !== this.generation) return;
    this.stop();
    const wait = RETRY_MS[Math.min(this.attempt++, RETRY_MS.length - 1)];
    this.onState(text, false);
    const next = ++this.generation;
    this.retryTimer = setTimeout(() => { if (next === this.generation) this.start(this.robot); },
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
    if (channel) this.channelEvents.onClose?.(channel); // closing the connection fires none
    this.video.srcObject = null;
  }
}
