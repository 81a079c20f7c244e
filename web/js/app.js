// The web app: reads config.json, signs in through Cognito, then drives the API through the
// client generated from the OpenAPI document. Every failure is shown (role="alert") with the
// API's own error code, message and fields; progress goes to a polite live region.

import { ApiError, createClient } from "./api-client.js";
import { answerChallenge, currentSession, signIn, signOut } from "./auth.js";
import { putWithProgress } from "./upload.js";

const $ = (id) => document.getElementById(id);
const PAGE_SIZE = 10;
const POLL_FIRST_MS = 250;
const POLL_MAX_MS = 2000;
const POLL_TOTAL_MS = 30000;

let session = null;
// A sign-in waiting for its MFA code or new password (Cognito's challenge session).
let pending = null;
const CHALLENGE_FORMS = { SOFTWARE_TOKEN_MFA: "mfa-form", NEW_PASSWORD_REQUIRED: "new-password-form" };
let api = null;
let nextCursor = null;

function say(text) {
  $("status").textContent = text;
}

function clearError() {
  $("error").hidden = true;
  $("error-text").textContent = "";
  $("error-fields").replaceChildren();
  for (const field of document.querySelectorAll("[aria-invalid]")) field.removeAttribute("aria-invalid");
}

function showError(error, form) {
  const code = error.code || "error";
  $("error-text").textContent = `${error.message} (${code}${error.status ? `, HTTP ${error.status}` : ""})`;
  const fields = error.fields || [];
  $("error-fields").replaceChildren(...fields.map((name) => {
    const item = document.createElement("li");
    item.textContent = `Check the field: ${name}`;
    return item;
  }));
  if (form) {
    for (const name of fields) {
      const input = form.elements.namedItem(name);
      if (input && input.setAttribute) input.setAttribute("aria-invalid", "true");
    }
  }
  $("error").hidden = false;
  say("");
  if (error instanceof ApiError && error.status === 401) {
    // The token expired or was refused: ask for a fresh sign-in rather than failing on.
    endSession();
  }
}

async function attempt(action, form) {
  clearError();
  const button = form ? form.querySelector("button[type=submit]") : null;
  if (button) button.disabled = true;
  try {
    await action();
  } catch (error) {
    showError(error, form);
  } finally {
    if (button) button.disabled = false;
  }
}

function userItem(user) {
  const item = document.createElement("li");
  item.dataset.userId = user.id;
  const name = document.createElement("strong");
  name.textContent = user.name;
  const email = document.createElement("span");
  email.textContent = user.email;
  item.append(name, email);
  return item;
}

async function loadUsers(reset) {
  if (reset) {
    nextCursor = null;
    $("users").replaceChildren();
  }
  const page = await api.listUsers({ limit: PAGE_SIZE, cursor: nextCursor });
  $("users").append(...page.items.map(userItem));
  nextCursor = page.next_cursor || null;
  $("more-users").hidden = !nextCursor;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Why the API refused a create, in words for the person who asked (GET /users/requests/{id}).
const REJECTIONS = {
  email_taken: ["email_taken", "This address is already one of your users", ["email"]],
  invalid: ["invalid", "The service could not store these values; check them and try again", []],
};

async function waitForOutcome(requestId) {
  // The write is applied asynchronously (queue → subscriber): the request says when it is done.
  const deadline = Date.now() + POLL_TOTAL_MS;
  for (let delay = POLL_FIRST_MS; ; delay = Math.min(delay * 2, POLL_MAX_MS)) {
    const request = await api.getUserRequest({ id: requestId });
    if (request.status !== "pending") return request;
    if (Date.now() + delay > deadline) return request;
    await sleep(delay);
  }
}

async function createUser(form) {
  const name = form.elements.name.value.trim();
  const email = form.elements.email.value.trim();
  // One key per submission: a retried request (flaky network) creates the user once.
  const accepted = await api.createUser({ idempotencyKey: crypto.randomUUID(), body: { name, email } });
  say(`Creating ${name}…`);
  const request = await waitForOutcome(accepted.message_id);
  if (request.status === "rejected") {
    const [code, message, fields] = REJECTIONS[request.reason] || [request.reason, "The request was rejected", []];
    // Not an HTTP error (the create was accepted): no status to show.
    throw new ApiError(null, code, message, fields);
  }
  if (request.status === "pending") {
    // Accepted and queued, not applied yet (e.g. while the database changes region).
    form.reset();
    say(`${name} is queued and will appear in your list once it is saved.`);
    return;
  }
  const user = await api.getUser({ id: request.user_id });
  $("users").prepend(userItem(user));
  form.reset();
  say(`${user.name} was created.`);
}

function fillPreferences(me) {
  const prefs = me.preferences || {};
  $("me").textContent = `Signed in as ${me.email || me.sub}`;
  $("pref-theme").value = prefs.theme || "system";
  $("pref-units").value = prefs.units || "metric";
  $("pref-notifications").checked = Boolean(prefs.notifications);
}

async function savePreferences(form) {
  const saved = await api.putPreferences({
    body: {
      theme: form.elements.theme.value,
      units: form.elements.units.value,
      notifications: form.elements.notifications.checked,
    },
  });
  fillPreferences({ email: session.email, preferences: saved.preferences });
  say("Preferences saved.");
}

function setProgress(percent) {
  $("upload-progress").value = percent;
  $("upload-percent").textContent = `${percent} %`;
}

async function upload(form) {
  const file = form.elements.file.files[0];
  if (!file) throw new ApiError(0, "validation_error", "Choose a photo first", ["file"]);
  setProgress(0);
  $("upload-result").textContent = "";
  const ticket = await api.createUpload({
    body: { filename: file.name, content_type: file.type || "application/octet-stream", size: file.size },
  });
  say(`Uploading ${file.name}…`);
  await putWithProgress(ticket, file, setProgress);
  const download = await api.getUpload({ key: ticket.id });
  const link = document.createElement("a");
  link.href = download.url;
  link.textContent = `Open ${file.name}`;
  link.rel = "noopener";
  link.target = "_blank";
  $("upload-result").replaceChildren(link);
  $("upload-result").dataset.uploadId = ticket.id;
  say(`${file.name} uploaded.`);
}

async function startSession() {
  $("signin").hidden = true;
  $("app").hidden = false;
  $("session").hidden = false;
  $("who").textContent = session.email;
  const [me] = await Promise.all([api.me(), loadUsers(true)]);
  fillPreferences(me);
  say(`Signed in as ${session.email}.`);
  // Keyboard and screen-reader users land on the content that just appeared.
  $("users-title").focus();
}

// One sign-in form at a time: password, then the challenge Cognito asked for.
function showSignInStep(formId) {
  for (const id of ["signin-form", ...Object.values(CHALLENGE_FORMS)]) $(id).hidden = id !== formId;
  const first = $(formId).querySelector("input");
  if (first) first.focus();
}

function endSession() {
  signOut();
  session = null;
  pending = null;
  showSignInStep("signin-form");
  $("app").hidden = true;
  $("session").hidden = true;
  $("signin").hidden = false;
}

function on(id, event, handler) {
  $(id).addEventListener(event, (e) => {
    e.preventDefault();
    handler(e.currentTarget);
  });
}

async function main() {
  let config;
  try {
    const response = await fetch("config.json", { cache: "no-store" });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    config = await response.json();
  } catch (failure) {
    showError({ code: "config_unavailable", message: `The app configuration could not be loaded (${failure.message})` });
    return;
  }
  api = createClient({
    baseUrl: config.apiBase,
    apiKey: config.apiKey,
    getToken: () => session && session.idToken,
  });

  // Either a session, or the challenge whose form is shown next.
  async function proceed(result, form) {
    form.reset();
    if (result.challenge) {
      pending = result;
      showSignInStep(CHALLENGE_FORMS[result.challenge]);
      say(result.challenge === "SOFTWARE_TOKEN_MFA"
        ? "Enter the code from your authenticator app."
        : "Choose a new password to finish signing in.");
      return;
    }
    pending = null;
    showSignInStep("signin-form");
    session = result;
    await startSession();
  }
  on("signin-form", "submit", (form) => attempt(async () => {
    say("Signing in…");
    const result = await signIn(config, form.elements.email.value.trim(), form.elements.password.value);
    await proceed(result, form);
  }, form));
  async function answer(form, value) {
    try {
      await proceed(await answerChallenge(config, pending, value), form);
    } catch (error) {
      // The challenge session expired (minutes): start again from the password.
      if (error.code === "NotAuthorizedException") {
        pending = null;
        showSignInStep("signin-form");
      }
      throw error;
    }
  }
  on("mfa-form", "submit", (form) => attempt(async () => {
    say("Verifying…");
    await answer(form, form.elements.code.value.trim());
  }, form));
  on("new-password-form", "submit", (form) => attempt(async () => {
    say("Setting your password…");
    await answer(form, form.elements.password.value);
  }, form));
  on("sign-out", "click", () => {
    endSession();
    clearError();
    say("Signed out.");
  });
  on("create-user-form", "submit", (form) => attempt(() => createUser(form), form));
  on("more-users", "click", () => attempt(() => loadUsers(false)));
  on("prefs-form", "submit", (form) => attempt(() => savePreferences(form), form));
  on("upload-form", "submit", (form) => attempt(() => upload(form), form));

  session = currentSession();
  if (session) await attempt(startSession);
}

main();
