// The /verify/ page: reads a pass (camera, photo or pasted text) and verifies it in the browser,
// against the key list cached on the last online visit (docs/pass.md). Nothing is sent anywhere.
import { decode as cborDecode, encode as cborEncode } from "cborg";
import jsQR from "jsqr";
import { inflate } from "pako";

const PREFIX = "HK1:";
const PAYLOAD_CLAIM = -65537;
const KEYS_MAX_AGE_MS = 2 * 24 * 3600 * 1000;
const STORE = "health-kit-pass-keys";
const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
const COLOURS = {
  no_abnormality: "#2e7d32",
  popup: "#f9a825",
  home_observation: "#ef6c00",
  centralized_observation: "#c62828",
};
export const REFUSALS = {
  malformed: "不是本系统的通行凭证",
  forged: "凭证无效：签名不符（可能被篡改或伪造）",
  expired: "凭证已过期",
  unknown_key: "凭证无效：签名密钥未知或已吊销",
  stale_keys: "密钥列表已超过2天未更新，请联网后重新打开本页",
  no_keys: "尚未获取密钥列表，请联网后打开本页一次",
};

class Refused extends Error {
  constructor(code) {
    super(code);
    this.code = code;
  }
}

export function base45Decode(text) {
  const out = [];
  for (let i = 0; i < text.length; i += 3) {
    const chunk = text.slice(i, i + 3);
    const values = [...chunk].map((c) => {
      const v = ALPHABET.indexOf(c);
      if (v < 0) throw new Refused("malformed");
      return v;
    });
    if (values.length === 1) throw new Refused("malformed");
    const n = values.reduce((acc, v, k) => acc + v * 45 ** k, 0);
    if (values.length === 3) {
      if (n > 0xffff) throw new Refused("malformed");
      out.push(n >> 8, n & 0xff);
    } else {
      if (n > 0xff) throw new Refused("malformed");
      out.push(n);
    }
  }
  return new Uint8Array(out);
}

const TAGS = { 18: (decode) => decode(), 61: (decode) => decode() }; // COSE_Sign1, CWT: their content

function cbor(bytes) {
  try {
    return cborDecode(bytes, { useMaps: true, tags: TAGS });
  } catch (error) {
    throw new Refused("malformed");
  }
}

function b64url(bytes) {
  let text = "";
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

// --- the key list ---------------------------------------------------------------------------------
export async function loadKeys(url) {
  try {
    const response = await fetch(url, { cache: "no-cache" });
    if (!response.ok) throw new Error(String(response.status));
    const doc = await response.json();
    localStorage.setItem(STORE, JSON.stringify(doc));
    return { doc, online: true };
  } catch (error) {
    const stored = localStorage.getItem(STORE);
    return { doc: stored ? JSON.parse(stored) : null, online: false };
  }
}

// --- verification ---------------------------------------------------------------------------------
export async function verifyPass(text, doc, now = Date.now()) {
  text = (text || "").trim();
  if (!text.startsWith(PREFIX)) throw new Refused("malformed");
  let data;
  try {
    data = inflate(base45Decode(text.slice(PREFIX.length)));
  } catch (error) {
    throw error instanceof Refused ? error : new Refused("malformed");
  }
  const message = cbor(data);
  if (!Array.isArray(message) || message.length !== 4) throw new Refused("malformed");
  const [protectedBytes, unprotected, payload, signature] = message;
  if (!(protectedBytes instanceof Uint8Array) || !(payload instanceof Uint8Array) || !(signature instanceof Uint8Array)) {
    throw new Refused("malformed");
  }
  const protectedMap = protectedBytes.length ? cbor(protectedBytes) : new Map();
  if (!(protectedMap instanceof Map) || protectedMap.get(1) !== -7) throw new Refused("malformed"); // ES256 only
  const kidBytes = protectedMap.get(4) || (unprotected instanceof Map ? unprotected.get(4) : undefined);
  if (!(kidBytes instanceof Uint8Array)) throw new Refused("malformed");
  if (!doc) throw new Refused("no_keys");
  if (now - Date.parse(doc.fetched_at) > KEYS_MAX_AGE_MS) throw new Refused("stale_keys");
  const kid = b64url(kidBytes);
  const entry = (doc.keys || []).find((key) => key.kid === kid);
  if (!entry) throw new Refused("unknown_key");
  const key = await crypto.subtle.importKey("jwk", { kty: "EC", crv: "P-256", x: entry.jwk.x, y: entry.jwk.y, ext: true },
    { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]);
  // Sig_structure (RFC 9052 §4.4): ["Signature1", protected, external_aad = h'', payload]
  const toBeSigned = cborEncode(["Signature1", protectedBytes, new Uint8Array(0), payload]);
  const good = await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key, signature, toBeSigned);
  if (!good) throw new Refused("forged");
  const claims = cbor(payload);
  const body = claims instanceof Map ? claims.get(PAYLOAD_CLAIM) : null;
  if (!(body instanceof Map) || typeof claims.get(4) !== "number") throw new Refused("malformed");
  const expires = claims.get(4) * 1000;
  if (expires <= now) throw new Refused("expired");
  return {
    status: body.get("s"),
    label: body.get("l"),
    name: body.get("n"),
    idMasked: body.get("d"),
    policyVersion: body.get("v"),
    issuedAt: claims.get(6) * 1000,
    expiresAt: expires,
    kid,
  };
}

// --- the page -------------------------------------------------------------------------------------
function beijingTime(ms) {
  return new Date(ms).toLocaleTimeString("zh-CN", { timeZone: "Asia/Shanghai", hour: "2-digit", minute: "2-digit", hour12: false });
}

function timeLeft(ms) {
  const minutes = Math.max(0, Math.floor(ms / 60000));
  return minutes >= 60 ? `${Math.floor(minutes / 60)}小时${minutes % 60}分钟` : `${minutes}分钟`;
}

function show(result) {
  const screen = document.getElementById("result");
  screen.hidden = false;
  screen.dataset.outcome = result.ok ? "valid" : "refused";
  if (result.ok) {
    const pass = result.pass;
    screen.dataset.status = pass.status;
    screen.style.background = COLOURS[pass.status] || "#455a64";
    screen.querySelector(".label").textContent = pass.label;
    screen.querySelector(".holder").textContent = `${pass.name}  ${pass.idMasked}`;
    screen.querySelector(".time").textContent =
      `有效至 ${beijingTime(pass.expiresAt)}（剩余${timeLeft(pass.expiresAt - Date.now())}）`;
  } else {
    screen.dataset.status = "";
    screen.dataset.refusal = result.code;
    screen.style.background = "#212121";
    screen.querySelector(".label").textContent = "✕ 核验未通过";
    screen.querySelector(".holder").textContent = REFUSALS[result.code] || REFUSALS.malformed;
    screen.querySelector(".time").textContent = "";
  }
}

async function check(text, state) {
  try {
    show({ ok: true, pass: await verifyPass(text, state.doc) });
  } catch (error) {
    show({ ok: false, code: error instanceof Refused ? error.code : "malformed" });
  }
}

function decodeImage(source, width, height) {
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext("2d", { willReadFrequently: true });
  context.drawImage(source, 0, 0, width, height);
  const found = jsQR(context.getImageData(0, 0, width, height).data, width, height);
  return found ? found.data : null;
}

async function scanCamera(state) {
  const video = document.getElementById("camera");
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
  } catch (error) {
    document.getElementById("keys-state").textContent = "无法打开摄像头，可选择照片或粘贴凭证内容";
    return;
  }
  video.srcObject = stream;
  video.hidden = false;
  await video.play();
  const tick = () => {
    if (video.readyState >= 2) {
      const text = decodeImage(video, video.videoWidth, video.videoHeight);
      if (text) {
        stream.getTracks().forEach((track) => track.stop());
        video.hidden = true;
        check(text, state);
        return;
      }
    }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}

async function main() {
  const root = document.getElementById("verify");
  if (!root) return;
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register(root.dataset.sw, { scope: "./" }).catch(() => {});
  }
  const state = await loadKeys(root.dataset.keys);
  const keysState = document.getElementById("keys-state");
  if (state.doc) {
    const fetched = Date.parse(state.doc.fetched_at);
    const stale = Date.now() - fetched > KEYS_MAX_AGE_MS;
    keysState.textContent = `${navigator.onLine ? "在线" : "离线"} · 密钥列表更新于 ${new Date(fetched).toLocaleString("zh-CN", { timeZone: "Asia/Shanghai", hour12: false })}${stale ? "（已过期）" : ""}`;
  } else {
    keysState.textContent = REFUSALS.no_keys;
  }
  root.dataset.keysReady = state.doc ? (state.online ? "online" : "offline") : "none";
  document.getElementById("check").addEventListener("click", () => check(document.getElementById("text").value, state));
  document.getElementById("scan").addEventListener("click", () => scanCamera(state));
  document.getElementById("photo").addEventListener("change", (event) => {
    const file = event.target.files[0];
    if (!file) return;
    const image = new Image();
    image.onload = () => {
      const scale = Math.min(1, 1024 / Math.max(image.width, image.height));
      const text = decodeImage(image, Math.round(image.width * scale), Math.round(image.height * scale));
      if (text) check(text, state);
      else show({ ok: false, code: "malformed" });
    };
    image.src = URL.createObjectURL(file);
  });
  document.getElementById("result").addEventListener("click", (event) => {
    event.currentTarget.hidden = true;
  });
}

if (typeof document !== "undefined") main();
