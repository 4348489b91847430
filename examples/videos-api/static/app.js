// The page trusts only the API: who is signed in comes from GET /me (the
// claims the server verified), never from a token decoded here. The page
// never sees a token at all: it lives in an HttpOnly cookie.
"use strict";

const $ = (id) => document.getElementById(id);

function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = !message;
}

// What the page says when a sign-in did not complete: the callback sends
// one of these codes in `/?error=`. Only these fixed words are shown, never
// text from the URL (a crafted link could say anything), and only to a
// signed-out user (a signed-in one pressed Back onto a used callback, say).
const SIGN_IN_ERRORS = {
  access_denied: "Sign-in was cancelled.",
  sign_in_expired: "That sign-in expired or was started in another browser. Please sign in again.",
  sign_in_failed: "Sign-in did not complete. Please try again.",
};

function signInError() {
  const code = new URLSearchParams(window.location.search).get("error");
  if (code === null) return "";
  // The code has done its job: a reload should not show it again.
  window.history.replaceState(null, "", window.location.pathname + window.location.hash);
  return Object.hasOwn(SIGN_IN_ERRORS, code) ? SIGN_IN_ERRORS[code] : SIGN_IN_ERRORS.sign_in_failed;
}

// Every state-changing call carries this header: a cross-site form cannot
// set it, so the server refuses cookie-authenticated writes without it.
const CSRF = { "x-videos-csrf": "1" };

async function refreshSession() {
  const r = await fetch("/auth/refresh", { method: "POST", headers: CSRF, credentials: "same-origin" });
  return r.ok;
}

// A call to the API; an expired access token is refreshed once (server side).
async function api(path, options = {}) {
  const request = { credentials: "same-origin", ...options, headers: { ...CSRF, ...(options.headers || {}) } };
  let response = await fetch(path, request);
  if (response.status === 401) {
    const body = await response.clone().json().catch(() => ({}));
    if (body.kind === "expired" && (await refreshSession())) {
      response = await fetch(path, request);
    }
  }
  return response;
}

async function failure(response) {
  const body = await response.json().catch(() => ({}));
  return `${response.status}: ${body.error || body.kind || response.statusText}`;
}

function videoItem(video, { deletable, showOwner }) {
  const item = document.createElement("li");
  const link = document.createElement("a");
  link.href = video.url;
  link.textContent = video.title;
  link.rel = "noopener noreferrer";
  item.append(link);
  if (showOwner) {
    const owner = document.createElement("span");
    owner.className = "owner";
    owner.textContent = ` (${video.owner})`;
    item.append(owner);
  }
  if (deletable) {
    const remove = document.createElement("button");
    remove.type = "button";
    remove.textContent = "Delete";
    remove.dataset.id = video.id;
    remove.addEventListener("click", () => deleteVideo(video.id));
    item.append(remove);
  }
  return item;
}

async function loadVideos() {
  const response = await api("/videos?limit=100");
  if (!response.ok) return showError(await failure(response));
  const page = await response.json();
  $("videos").replaceChildren(...page.videos.map((v) => videoItem(v, { deletable: true })));
  $("no-videos").hidden = page.videos.length > 0;
}

async function loadEveryone() {
  const response = await api("/admin/videos?limit=100");
  if (!response.ok) return showError(await failure(response));
  const page = await response.json();
  $("everyone").replaceChildren(...page.videos.map((v) => videoItem(v, { showOwner: true })));
  $("everyone-section").hidden = false;
}

async function deleteVideo(id) {
  const response = await api(`/videos/${encodeURIComponent(id)}`, { method: "DELETE" });
  if (!response.ok) return showError(await failure(response));
  showError("");
  await loadVideos();
}

async function addVideo(event) {
  event.preventDefault();
  const form = event.target;
  const response = await api("/videos", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ title: form.title.value, url: form.url.value }),
  });
  if (!response.ok) return showError(await failure(response));
  showError("");
  form.reset();
  await loadVideos();
}

// Sign-out revokes the tokens on the server (this session, or every
// session of the user) and clears the cookies; the page then goes where the
// server says (the pool's /logout with managed login). A sign-out that
// could not be completed everywhere says so, and the cookies are gone.
async function endSession(path) {
  const response = await api(path, { method: "POST" });
  if (!response.ok) return showError(await failure(response));
  const { redirect } = await response.json();
  window.location.assign(redirect || "/");
}

async function signOutUser(event) {
  event.preventDefault();
  const sub = event.target.sub.value.trim();
  $("sign-out-user-done").textContent = "";
  const response = await api(`/admin/users/${encodeURIComponent(sub)}/sign-out`, { method: "POST" });
  if (!response.ok) return showError(await failure(response));
  showError("");
  event.target.reset();
  $("sign-out-user-done").textContent = `Signed out ${sub} everywhere.`;
}

async function devSignIn(username) {
  const response = await fetch("/auth/dev-login", {
    method: "POST",
    headers: { ...CSRF, "content-type": "application/json" },
    credentials: "same-origin",
    body: JSON.stringify({ username }),
  });
  if (!response.ok) return showError(await failure(response));
  window.location.assign("/");
}

async function showSignedOut(error) {
  $("signed-out").hidden = false;
  if (error) showError(error);
  const config = await (await fetch("/auth/config")).json().catch(() => ({}));
  if (config.mode === "cognito") {
    const button = $("sign-in");
    button.hidden = false;
    button.addEventListener("click", () => window.location.assign("/auth/login"));
  } else if (config.mode === "dev") {
    $("demo-users").hidden = false;
    $("demo-user-list").replaceChildren(
      ...config.demo_users.map((user) => {
        const item = document.createElement("li");
        const button = document.createElement("button");
        button.type = "button";
        button.id = `sign-in-${user.username}`;
        button.textContent = `Sign in as ${user.username}${user.groups.length ? ` (${user.groups.join(", ")})` : ""}`;
        button.addEventListener("click", () => devSignIn(user.username));
        item.append(button);
        return item;
      }),
    );
  } else {
    showError("This service has no browser sign-in configured.");
  }
}

async function start() {
  const error = signInError();
  $("sign-out").addEventListener("click", () => endSession("/auth/logout"));
  $("sign-out-everywhere").addEventListener("click", () => endSession("/auth/logout-everywhere"));
  $("sign-out-user").addEventListener("submit", signOutUser);
  $("add-video").addEventListener("submit", addVideo);
  // The link sets #everyone (so a reload keeps the view) and loads the list.
  $("show-everyone").addEventListener("click", () => loadEveryone());
  const response = await api("/me");
  if (response.status === 401) return showSignedOut(error);
  if (!response.ok) return showError(await failure(response));
  const me = await response.json();
  $("who").textContent = me.username || me.email || me.sub;
  $("account").hidden = false;
  $("signed-in").hidden = false;
  const admin = (me.groups || []).includes("admin");
  $("admin").hidden = !admin;
  await loadVideos();
  if (admin && window.location.hash === "#everyone") await loadEveryone();
}

start().catch((e) => showError(String(e)));
