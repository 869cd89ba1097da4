// The page of tf_nst's web app: pictures, controls, one run followed by server-sent events, the gallery.
"use strict";

const FINAL = ["done", "stopped", "failed"];
const $ = (id) => document.getElementById(id);
const chosen = { photo: "demo-photo", paintings: new Map([["demo-painting", 1]]) };
let current = null; // the run this page follows: {id, source}

function say(text) {
  const box = $("message");
  box.textContent = text || "";
  box.hidden = !text;
}

async function json(response) {
  const body = await response.json().catch(() => ({ error: `The server answered ${response.status}.` }));
  if (!response.ok) throw new Error(body.error || `The server answered ${response.status}.`);
  return body;
}

function clock(seconds) {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${r}` : `${m}:${r}`;
}

// pictures ------------------------------------------------------------------------------------------------------

function card(picture, selected, onClick) {
  const element = document.createElement("div");
  element.className = "choice" + (selected ? " selected" : "");
  element.dataset.id = picture.id;
  element.title = picture.name;
  element.tabIndex = 0;
  const image = document.createElement("img");
  image.src = picture.thumbnail;
  image.alt = picture.name;
  const name = document.createElement("div");
  name.className = "name";
  name.textContent = picture.name;
  element.append(image, name);
  element.addEventListener("click", (event) => { if (!event.target.classList.contains("weight")) onClick(); });
  element.addEventListener("keydown", (event) => { if (event.key === "Enter" || event.key === " ") onClick(); });
  return element;
}

async function showPictures() {
  const known = await json(await fetch("/api/pictures"));
  const photos = $("photos"), paintings = $("paintings");
  photos.replaceChildren(...known.photo.map((p) =>
    card(p, p.id === chosen.photo, () => { chosen.photo = p.id; showPictures(); })));
  paintings.replaceChildren(...known.painting.map((p) => {
    const selected = chosen.paintings.has(p.id);
    const element = card(p, selected, () => {
      if (selected) chosen.paintings.delete(p.id); else chosen.paintings.set(p.id, 1);
      showPictures();
    });
    const weight = document.createElement("input");
    Object.assign(weight, { type: "number", min: "0", step: "0.1", className: "weight", title: "blend weight" });
    weight.value = chosen.paintings.get(p.id) ?? 1;
    weight.hidden = !(selected && chosen.paintings.size > 1);
    weight.addEventListener("change", () => chosen.paintings.set(p.id, Number(weight.value)));
    element.append(weight);
    return element;
  }));
}

async function upload(file, kind) {
  say("");
  const form = new FormData();
  form.append("kind", kind);
  form.append("file", file);
  try {
    const picture = await json(await fetch("/api/pictures", { method: "POST", body: form }));
    if (kind === "photo") chosen.photo = picture.id;
    else chosen.paintings = new Map([[picture.id, 1]]);
    await showPictures();
  } catch (error) {
    say(error.message);
  }
}

for (const input of document.querySelectorAll("input.file")) {
  input.addEventListener("change", () => {
    if (input.files.length) upload(input.files[0], input.dataset.kind);
    input.value = "";
  });
}
for (const zone of document.querySelectorAll(".drop")) {
  zone.addEventListener("dragover", (event) => { event.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("over");
    if (event.dataTransfer.files.length) upload(event.dataTransfer.files[0], zone.dataset.kind);
  });
}

// controls ------------------------------------------------------------------------------------------------------

async function showControls() {
  const settings = await json(await fetch("/api/settings"));
  const form = $("controls");
  for (const control of settings.controls) {
    const label = document.createElement("label");
    label.htmlFor = `control-${control.name}`;
    label.textContent = control.label;
    label.title = control.help;
    let input;
    if (control.kind === "choice") {
      input = document.createElement("select");
      for (const choice of control.choices) input.add(new Option(choice, choice, false, choice === control.default));
    } else {
      input = document.createElement("input");
      Object.assign(input, { type: "number", step: control.kind === "int" ? "1" : "any", value: control.default });
    }
    Object.assign(input, { id: `control-${control.name}`, name: control.name, title: control.help });
    form.append(label, input);
  }
}

// a run ---------------------------------------------------------------------------------------------------------

function describe(status) {
  if (status.state === "queued") {
    const ahead = status.place;
    return ahead ? `Waiting: ${ahead} run${ahead > 1 ? "s" : ""} ahead of yours (place ${ahead + 1} in the queue).`
      : "Starting next…";
  }
  if (status.state === "running") {
    if (!status.evaluation) return "Preparing: building the network and the first evaluation…";
    const speed = status.seconds_per_evaluation;
    const left = status.level < status.levels ? `about ${clock(status.seconds_left)}` : clock(status.seconds_left);
    return `Level ${status.level} of ${status.levels} · evaluation ${status.evaluation} of ${status.evaluations} · ` +
      `${speed.toFixed(speed < 1 ? 3 : 2)} s per evaluation · ${left} left`;
  }
  return status.message;
}

function show(status) {
  $("run").dataset.state = status.state;
  $("status").textContent = describe(status);
  $("bar").value = status.evaluations ? status.evaluation / status.evaluations : 0;
  const preview = $("preview");
  if (status.preview && preview.getAttribute("src") !== status.preview) {
    preview.src = status.preview;
    preview.hidden = false;
  }
  const download = $("download");
  download.hidden = !status.result;
  if (status.result) download.href = status.result;
  if (status.state === "failed" && !status.result) say(status.message);
}

function follow(id) {
  const source = new EventSource(`/api/jobs/${id}/events`);
  current = { id, source };
  source.onmessage = (event) => {
    const status = JSON.parse(event.data);
    show(status);
    if (FINAL.includes(status.state)) {
      source.close();
      current = null;
      $("start").disabled = false;
      $("stop").disabled = true;
      showGallery();
    }
  };
  source.onerror = () => {
    if (source.readyState === EventSource.CLOSED) say("The connection to the app was lost.");
  };
}

$("start").addEventListener("click", async () => {
  say("");
  const form = new URLSearchParams(new FormData($("controls")));
  form.set("photo", chosen.photo);
  form.set("paintings", [...chosen.paintings.keys()].join(","));
  form.set("weights", [...chosen.paintings.values()].join(","));
  try {
    $("start").disabled = true;
    const status = await json(await fetch("/api/jobs", { method: "POST", body: form }));
    $("preview").hidden = true;
    $("preview").removeAttribute("src");
    show(status);
    $("stop").disabled = false;
    follow(status.id);
  } catch (error) {
    $("start").disabled = false;
    say(error.message);
  }
});

$("stop").addEventListener("click", () => {
  if (current) fetch(`/api/jobs/${current.id}/stop`, { method: "POST" });
  $("stop").disabled = true;
});

window.addEventListener("pagehide", () => {
  if (current) navigator.sendBeacon(`/api/jobs/${current.id}/stop`);
});

// results -------------------------------------------------------------------------------------------------------

async function showGallery() {
  const results = await json(await fetch("/api/gallery"));
  $("empty").hidden = results.length > 0;
  $("gallery").replaceChildren(...results.map((status) => {
    const element = document.createElement("div");
    element.className = "result";
    element.dataset.id = status.id;
    const image = document.createElement("img");
    image.src = status.result;
    image.alt = status.settings;
    const settings = document.createElement("p");
    settings.className = "settings";
    settings.textContent = `${status.size[0]}x${status.size[1]} px · ${status.settings}`;
    const note = document.createElement("p");
    note.textContent = status.message;
    const link = document.createElement("a");
    Object.assign(link, { href: status.result, className: "button", textContent: "Download PNG" });
    link.download = "";
    element.append(image, settings, note, link);
    return element;
  }));
}

showControls().catch((error) => say(error.message));
showPictures().catch((error) => say(error.message));
showGallery().catch((error) => say(error.message));
