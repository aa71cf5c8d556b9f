// Headless Chromium (Debian's `chromium`, driven by playwright-core) through a generated OAuth
// server's pages as a person would: open the authorize URL, sign in, press Allow, land on the
// redirect URI with a code and the unchanged state. Also loads the consent page in an iframe of
// another local page and reports whether Chromium refused to show it.
//
// Input: one JSON argument {authorizeUrl, username, password, redirectUri, framerOrigin,
// screenshotDir, prefix}. Output: one JSON object on stdout (test_browser.py checks it).
// Nothing leaves the machine: every request that is not to 127.0.0.1 is fulfilled or aborted
// here, and the host resolver maps every other name to nothing.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";

const input = JSON.parse(process.argv[2]);
const result = { consoleRefusals: [], blockedOffMachine: [] };
const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), "plugsmith-chromium-"));
const framer = new URL(input.framerOrigin);

const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  timeout: 60000,
  viewport: { width: 900, height: 700 },
  args: [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
  ],
});

try {
  await context.route("**/*", async (route) => {
    const url = new URL(route.request().url());
    if (route.request().url().startsWith(input.redirectUri)) {
      // The client's redirect URI (https://chat.openai.com/...): answered here, never fetched.
      result.landedAt = route.request().url();
      return route.fulfill({ status: 200, contentType: "text/html", body: "<h1>redirect URI reached</h1>" });
    }
    if (url.hostname === "127.0.0.1" && url.port === framer.port) {
      if (url.pathname === "/child.html") {
        return route.fulfill({ status: 200, contentType: "text/html", body: "<p id=control>framed fine</p>" });
      }
      const consent = input.authorizeUrl.replace(/"/g, "&quot;");
      return route.fulfill({
        status: 200,
        contentType: "text/html",
        body: `<!doctype html><title>framer</title>
<iframe name=consent src="${consent}" width=600 height=400></iframe>
<iframe name=control src="/child.html" width=200 height=100></iframe>`,
      });
    }
    const request = route.request();
    if (url.hostname === "127.0.0.1" && request.isNavigationRequest() && request.frame().parentFrame()) {
      // The page sent into a frame: fetched here to see that it is the consent page (signed in),
      // then handed to Chromium unchanged, headers included, for it to refuse.
      const response = await route.fetch();
      result.framedBodyWasConsent = /value=["']?allow/i.test(await response.text());
      return route.fulfill({ response });
    }
    if (url.hostname === "127.0.0.1") return route.continue();
    result.blockedOffMachine.push(route.request().url());
    return route.abort();
  });

  const page = await context.newPage();
  page.setDefaultTimeout(20000);
  // Playwright's route handler does not see a request that a server's redirect starts, so the
  // redirect URI is also caught at Chromium's own Fetch domain (which pauses redirects too) and
  // answered here: the browser lands on it without any request leaving the machine.
  const cdp = await context.newCDPSession(page);
  cdp.on("Fetch.requestPaused", async (event) => {
    result.landedAt = event.request.url;
    await cdp.send("Fetch.fulfillRequest", {
      requestId: event.requestId,
      responseCode: 200,
      responseHeaders: [{ name: "Content-Type", value: "text/html" }],
      body: Buffer.from("<h1>redirect URI reached</h1>").toString("base64"),
    });
  });
  await cdp.send("Fetch.enable", {
    patterns: [{ urlPattern: input.redirectUri.replace(/[?*\\]/g, "\\$&") + "*", requestStage: "Request" }],
  });
  const first = await page.goto(input.authorizeUrl);
  result.loginStatus = first.status();
  await page.waitForSelector("input[name=password]");
  result.login = path.join(input.screenshotDir, `${input.prefix}-login.png`);
  await page.fill("input[name=username]", input.username);
  await page.fill("input[name=password]", input.password);
  await page.screenshot({ path: result.login, fullPage: true });

  const [consentResponse] = await Promise.all([
    page.waitForResponse((r) => r.url().includes("/oauth/authorize") && r.request().method() === "GET"),
    page.locator("form[method=post] button[type=submit], form[method=post] input[type=submit]").first().click(),
  ]);
  await page.waitForSelector("button[value=allow], input[value=allow]");
  result.consentHeaders = await consentResponse.allHeaders();
  result.consent = path.join(input.screenshotDir, `${input.prefix}-consent.png`);
  await page.screenshot({ path: result.consent, fullPage: true });

  // The consent page inside an iframe of another local page (same site, so the session cookie
  // goes along and, were framing allowed, the consent form would show).
  const framed = await context.newPage();
  framed.on("console", (m) => {
    if (/refused to (display|frame)/i.test(m.text())) result.consoleRefusals.push(m.text());
  });
  await framed.goto(`${input.framerOrigin}/framer.html`);
  await framed.waitForTimeout(1500);
  const control = framed.frame({ name: "control" });
  result.controlFrameText = control ? await control.locator("#control").textContent({ timeout: 5000 }).catch(() => null) : null;
  const consentFrame = framed.frame({ name: "consent" });
  result.consentFrameUrl = consentFrame ? consentFrame.url() : null;
  result.consentFrameButtons = consentFrame
    ? await consentFrame.locator("button").count().catch(() => 0)
    : 0;
  await framed.close();

  // Back to the consent page: reload (the framed load may have renewed the CSRF cookie), Allow.
  await page.reload();
  await page.waitForSelector("button[value=allow], input[value=allow]");
  await Promise.all([
    page.waitForURL((u) => u.href.startsWith(input.redirectUri), { timeout: 20000 }),
    page.click("button[value=allow], input[value=allow]"),
  ]);
  result.finalUrl = page.url();
} catch (e) {
  result.error = String(e && e.stack ? e.stack : e);
} finally {
  await context.close();
  fs.rmSync(userDataDir, { recursive: true, force: true });
}
process.stdout.write(JSON.stringify(result) + "\n");
