// The page at GET / in a real browser: Debian's chromium, driven by
// puppeteer-core (nothing downloaded). Draws digits with mouse strokes (one
// with touch events, as a finger would), checks
// the class the page shows, the model name, the round trip and the stats view;
// keeps a screenshot of each in the given folder.
//   node page_test.js URL SCREENSHOT_DIR MODEL_NAME
"use strict";
const puppeteer = require("puppeteer-core");
const path = require("path");

const [url, shots, modelName] = process.argv.slice(2);

// Strokes in the 280x280 canvas's pixels, each a list of points.
function ellipse(cx, cy, rx, ry) {
  const points = [];
  for (let i = 0; i <= 48; ++i) points.push([cx + rx * Math.sin(2 * Math.PI * i / 48), cy - ry * Math.cos(2 * Math.PI * i / 48)]);
  return points;
}
const digits = [
  { label: "0", strokes: [ellipse(140, 140, 60, 90)] },
  { label: "1", strokes: [[[140, 45], [140, 235]]] },
  { label: "7", strokes: [[[75, 55], [205, 55], [115, 235]]] },
  { label: "4", strokes: [[[165, 45], [80, 165], [210, 165]], [[170, 100], [170, 240]]] },
  { label: "1", strokes: [[[150, 45], [130, 235]]], touch: true },
];

async function draw(page, box, strokes, touch) {
  for (const stroke of strokes) {
    const at = ([x, y]) => [box.x + x * box.width / 280, box.y + y * box.height / 280];
    if (touch) {  // a finger: touch start, moves in small steps, end
      await page.touchscreen.touchStart(...at(stroke[0]));
      for (let i = 1; i < stroke.length; ++i)
        for (let k = 1; k <= 8; ++k) {
          const [x0, y0] = stroke[i - 1], [x1, y1] = stroke[i];
          await page.touchscreen.touchMove(...at([x0 + (x1 - x0) * k / 8, y0 + (y1 - y0) * k / 8]));
        }
      await page.touchscreen.touchEnd();
      continue;
    }
    await page.mouse.move(...at(stroke[0]));
    await page.mouse.down();
    for (let i = 1; i < stroke.length; ++i) await page.mouse.move(...at(stroke[i]), { steps: 8 });
    await page.mouse.up();
  }
}

(async () => {
  const browser = await puppeteer.launch({
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
  let failed = false;
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 900, height: 600, hasTouch: true });
    page.on("pageerror", error => { console.error("page error:", error.message); failed = true; });
    await page.goto(url, { waitUntil: "load" });
    await page.waitForSelector("body[data-ready='1']", { timeout: 10000 });
    const shown = await page.$eval("#model", e => e.textContent);
    if (shown !== modelName) { console.error(`model shown "${shown}", expected "${modelName}"`); failed = true; }
    const box = await (await page.$("#pad")).boundingBox();
    for (const digit of digits) {
      await page.click("#clear");
      await draw(page, box, digit.strokes, digit.touch);
      await page.waitForFunction(() => window.gcAnswered(), { timeout: 10000 });
      const answer = await page.$eval("#answer", e => e.textContent);
      const status = await page.$eval("#status", e => e.textContent);
      const rtt = await page.$eval("#rtt", e => e.textContent);
      const bars = await page.$$eval("#bars .bar", bars => bars.length);
      const name = `digit-${digit.label}${digit.touch ? "-touch" : ""}`;
      await page.screenshot({ path: path.join(shots, `${name}.png`) });
      const ok = answer === digit.label && status === "Answered." && Number(rtt) > 0 && bars === 10;
      console.log(`${ok ? "ok  " : "FAIL"} drew ${digit.label}${digit.touch ? " by touch" : ""}: the page shows ${answer} (${status}, ${rtt} ms, ${bars} bars)`);
      failed = failed || !ok;
    }
    await page.click("#show-stats");
    await page.waitForFunction(() => /^[0-9.]+$/.test(document.getElementById("rate").textContent), { timeout: 5000 });
    const latency = await page.$eval("#latency", e => e.textContent);
    const histogram = await page.$$eval("#histogram .bar", bars => bars.length);
    await page.screenshot({ path: path.join(shots, "stats.png") });
    const statsOk = /^[0-9.]+ \/ [0-9.]+ \/ [0-9.]+$/.test(latency) && histogram > 0;
    console.log(`${statsOk ? "ok  " : "FAIL"} stats view: latency ${latency}, ${histogram} batch-size bars`);
    failed = failed || !statsOk;
  } finally {
    await browser.close();
  }
  process.exit(failed ? 1 : 0);
})().catch(error => { console.error(error); process.exit(1); });
