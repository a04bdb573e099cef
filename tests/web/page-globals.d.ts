// What the page finds on `window` besides the DOM: the vendored KVS WebRTC SDK's global
// (vendor/kvs-webrtc.min.js, loaded by a classic script tag) and the handles the page leaves
// for its browser tests.
export {};

declare global {
  interface Window {
    /** amazon-kinesis-video-streams-webrtc's browser bundle (no types shipped with it). */
    KVSWebRTC: {
      SignalingClient: new (config: object) => {
        on(event: string, handler: (...args: any[]) => void): void;
        open(): void;
        close(): void;
        sendSdpOffer(description: RTCSessionDescription | null): void;
        sendIceCandidate(candidate: RTCIceCandidate): void;
      };
      Role: { MASTER: string; VIEWER: string };
    };
    robotPage: object;
    marsTab: object;
  }
}
