// Camera scanning: the browser's BarcodeDetector where it exists (Chrome on Android), else
// the vendored ZXing decoder. Both read Code 128 (the label's barcode) and QR (its tracking
// link and the chip ID card's QR).
let stream = null;
let timer = null;
let zxingReader = null;

async function detector() {
  if ("BarcodeDetector" in window) {
    try {
      const formats = await window.BarcodeDetector.getSupportedFormats();
      if (formats.includes("code_128")) {
        const native = new window.BarcodeDetector({ formats: ["code_128", "qr_code"] });
        return async (canvas) => (await native.detect(canvas)).map((c) => c.rawValue);
      }
    } catch {
      /* fall through to ZXing */
    }
  }
  await loadZxing();
  const ZX = window.ZXing;
  const hints = new Map();
  hints.set(ZX.DecodeHintType.POSSIBLE_FORMATS, [ZX.BarcodeFormat.CODE_128, ZX.BarcodeFormat.QR_CODE]);
  hints.set(ZX.DecodeHintType.TRY_HARDER, true);
  zxingReader = new ZX.MultiFormatReader();
  zxingReader.setHints(hints);
  return async (canvas) => {
    try {
      const source = new ZX.HTMLCanvasElementLuminanceSource(canvas);
      const bitmap = new ZX.BinaryBitmap(new ZX.HybridBinarizer(source));
      return [zxingReader.decode(bitmap).getText()];
    } catch {
      return [];
    }
  };
}

function loadZxing() {
  if (window.ZXing) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = "/static/vendor/zxing/zxing-library-0.23.0.min.js";
    script.onload = resolve;
    script.onerror = reject;
    document.head.appendChild(script);
  });
}

export async function startCamera(video, onText) {
  stopCamera();
  stream = await navigator.mediaDevices.getUserMedia({
    video: { facingMode: "environment", width: { ideal: 1280 }, height: { ideal: 720 } },
    audio: false,
  });
  video.srcObject = stream;
  await video.play();
  const decode = await detector();
  const canvas = document.createElement("canvas");
  const context = canvas.getContext("2d", { willReadFrequently: true });
  let busy = false;
  timer = setInterval(async () => {
    if (busy || !video.videoWidth) return;
    busy = true;
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    context.drawImage(video, 0, 0);
    const found = await decode(canvas);
    busy = false;
    for (const text of found) onText(text);
  }, 250);
}

export function stopCamera() {
  clearInterval(timer);
  timer = null;
  if (stream) for (const track of stream.getTracks()) track.stop();
  stream = null;
}

// Clear, unmissable feedback: colour (by the caller), a tone and a vibration.
export function feedback(ok) {
  try {
    if (navigator.vibrate) navigator.vibrate(ok ? 80 : [60, 60, 60]);
    const audio = new (window.AudioContext || window.webkitAudioContext)();
    const osc = audio.createOscillator();
    osc.frequency.value = ok ? 1200 : 300;
    osc.connect(audio.destination);
    osc.start();
    osc.stop(audio.currentTime + (ok ? 0.12 : 0.35));
  } catch {
    /* no audio: colour and vibration still tell */
  }
}
