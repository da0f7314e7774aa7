// drn serve: drop images, follow their jobs, compare before and after. No framework, no network
// beyond this server.
"use strict";

const $ = (sel, root = document) => root.querySelector(sel);
const finished = [];

async function loadModels() {
  const models = await (await fetch("/api/models")).json();
  const select = $("#model");
  const auto = new Option("auto: per picture (default)", "");
  auto.title = "the clean, the photo or (x4) the blur model of the scale, as each picture's damage asks (drn upscale without --model)";
  select.add(auto);
  for (const m of models) {
    const option = new Option(`${m.name} (x${m.scale})`, m.name);
    option.title = m.use;
    select.add(option);
  }
}

const VIDEO = /\.(mp4|mkv|mov|webm|avi|m4v)$/i;

function submit(file) {
  const card = $("#job-template").content.firstElementChild.cloneNode(true);
  $(".name", card).textContent = file.name;
  $(".status", card).textContent = "uploading";
  $("#queue").prepend(card);
  if (file.type.startsWith("video/") || VIDEO.test(file.name)) {
    return fail(card, `Videos are upscaled in a terminal: drn upscale "${file.name}" (this page takes pictures).`);
  }
  const form = new FormData();
  form.append("image", file);
  if ($("#model").value) form.append("model", $("#model").value);
  if ($("#scale").value) form.append("scale", $("#scale").value);
  if ($("#denoise").value) form.append("denoise", $("#denoise").value);
  if ($("#tta").checked) form.append("tta", "1");
  if ($("#compare").checked) form.append("compare", "1");
  if ($("#adapt").checked) form.append("adapt", "1");
  fetch("/api/jobs", { method: "POST", body: form })
    .then(async (response) => {
      const body = await response.json();
      if (!response.ok) throw new Error(body.error || response.statusText);
      card.dataset.id = body.id;
      follow(card, body.id);
    })
    .catch((error) => fail(card, error.message));
}

// The job in words for someone who has never heard of a JPEG's quality tables: which model ran,
// how much it cleaned and why, the sizes.
function describe(job, strength, reason) {
  const sizes = `${job.size_in[0]}x${job.size_in[1]} -> ${job.size_out[0]}x${job.size_out[1]}`;
  const frames = (job.frames ? `, ${job.frames} frames` : "") +
    (job.animated ? `; only the first of its ${job.animated} pages (save the others as pictures to upscale them)` : "") +
    (job.adapted ? `; ${job.adapted}` : "");
  if (strength === null) return `${job.model}: ${sizes}${frames}`;
  const amount = strength === 0 ? "no cleaning" : strength === 1 ? "full cleaning" : `cleaning ${strength.toFixed(2)}`;
  const why = plainReason(reason);
  return `${job.model}, ${amount}${why ? ` (${why})` : ""}: ${sizes}${frames}`;
}

function plainReason(reason) {
  if (!reason) return "";
  const quality = /JPEG quality (\d+)/.exec(reason);
  if (/^clean, a drawing/.test(reason)) return "a drawing with smooth edges, which the clean model draws best";
  if (/^clean/.test(reason)) return "the picture looked clean";
  if (quality && /ghost|blocks/.test(reason)) return `it was saved as a JPEG before (quality about ${quality[1]}), which leaves blocks`;
  if (/^colour softer/.test(reason)) return "it was a JPEG once and was resized since: its colours are softer than its detail";
  if (/hard pixel edges/.test(reason)) return "a drawing with hard pixel edges, which the photo model draws without notches";
  if (quality) return `a JPEG saved at quality ${quality[1]} of 100, which leaves blocks`;
  if (/^lossy/.test(reason)) return "a compressed picture";
  if (/^noise/.test(reason)) return "the picture is grainy";
  if (/blur/.test(reason)) return "the picture is blurred";
  return reason;
}

function fail(card, message) {
  $(".status", card).textContent = "failed";
  const p = $(".error", card);
  p.textContent = message;
  p.hidden = false;
  $("progress", card).hidden = true;
}

async function follow(card, id) {
  for (;;) {
    const job = await (await fetch(`/api/jobs/${id}`)).json();
    $(".status", card).textContent = job.status;
    $("progress", card).value = job.progress;
    if (job.status === "failed") return fail(card, job.error);
    if (job.status === "done") return show(card, job);
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

function show(card, job) {
  $("progress", card).hidden = true;
  const result = $(".result", card);
  const [after, before, confidence] = [$(".after", card), $(".before", card), $(".confidence", card)];
  after.src = `/api/jobs/${job.id}/result`;
  before.src = `/api/jobs/${job.id}/input`;
  before.style.width = `${job.size_out[0]}px`;
  $(".download", card).href = after.src;
  $(".info", card).textContent = describe(job, job.denoise, job.denoise_reason);
  if (job.frames) {  // an animation: its frames play, so a split view would show two moments at once
    for (const part of [".before-clip", ".label", ".split"]) card.querySelectorAll(part).forEach((e) => { e.hidden = true; });
    const note = $(".note", card);
    note.textContent = `An animation: every one of its ${job.frames} frames was upscaled; it is shown upscaled only.`;
    note.hidden = false;
  }
  const toggle = $(".show-confidence", card);
  if (job.confidence) confidence.src = `/api/jobs/${job.id}/confidence`;
  else toggle.disabled = true;
  toggle.addEventListener("change", () => { confidence.hidden = !toggle.checked; $(".legend", card).hidden = !toggle.checked; });
  if (job.compare) cleaningSlider(card, job, after);
  result.hidden = false;
  viewer(card, job);
  finished.push(job.id);
  $("#zip").href = `/api/results.zip?ids=${finished.join(",")}`;
  $("#all").hidden = false;
}

// The cleaning slider of a compare job: (1 - S) x the clean model's output + S x the photo
// model's, blended on a canvas (what drn upscale --denoise S makes, up to rounding); the shown
// result and its download follow the slider.
function cleaningSlider(card, job, after) {
  const label = $(".cleaning", card), range = $(".strength", card), value = $(".strength-value", card);
  const download = $(".download", card);
  const [clean, photo] = [new Image(), new Image()];
  clean.src = `/api/jobs/${job.id}/clean`;
  photo.src = `/api/jobs/${job.id}/photo`;
  const canvas = document.createElement("canvas");
  [canvas.width, canvas.height] = job.size_out;
  const context = canvas.getContext("2d");
  const stem = job.name.replace(/\.[^.]*$/, "");
  let url = null;
  range.value = Math.round(job.denoise * 100);
  value.textContent = (range.value / 100).toFixed(2);
  const blend = () => {
    const strength = range.value / 100;
    value.textContent = strength.toFixed(2);
    $(".info", card).textContent = describe(job, strength, "set with the slider");
    context.clearRect(0, 0, canvas.width, canvas.height);
    context.globalAlpha = 1;
    context.drawImage(clean, 0, 0);
    context.globalAlpha = strength;
    context.drawImage(photo, 0, 0);
    canvas.toBlob((blob) => {
      if (url) URL.revokeObjectURL(url);
      url = URL.createObjectURL(blob);
      after.src = url;
      download.href = url;
      download.download = `${stem}_upscaled_denoise${strength.toFixed(2)}.png`;
    }, "image/png");
  };
  Promise.all([clean.decode(), photo.decode()]).then(() => {
    range.addEventListener("input", blend);
    label.hidden = false;
  });
}

// One transform for the whole stage: the two images, the slider's clip and the map zoom and
// pan together, so before and after always show the same place.
function viewer(card, job) {
  const box = $(".viewer", card), stage = $(".stage", card), clip = $(".before-clip", card);
  const slider = $(".slider", card);
  const [w, h] = job.size_out;
  stage.style.width = `${w}px`;
  stage.style.height = `${h}px`;
  let scale = 1, x = 0, y = 0;
  const fit = () => {  // the whole image, centred, never enlarged past 1:1
    scale = Math.min(box.clientWidth / w, box.clientHeight / h, 1);
    x = (box.clientWidth - w * scale) / 2;
    y = (box.clientHeight - h * scale) / 2;
  };
  const apply = () => { stage.style.transform = `translate(${x}px, ${y}px) scale(${scale})`; };
  const split = () => { clip.style.width = `${slider.value}%`; };
  slider.addEventListener("input", split);
  box.addEventListener("wheel", (event) => {
    event.preventDefault();
    const rect = box.getBoundingClientRect(), px = event.clientX - rect.left, py = event.clientY - rect.top;
    const factor = event.deltaY < 0 ? 1.2 : 1 / 1.2;
    x = px - (px - x) * factor;
    y = py - (py - y) * factor;
    scale *= factor;
    apply();
  }, { passive: false });
  let drag = null;
  box.addEventListener("pointerdown", (event) => { drag = [event.clientX - x, event.clientY - y]; box.setPointerCapture(event.pointerId); });
  box.addEventListener("pointermove", (event) => { if (drag) { x = event.clientX - drag[0]; y = event.clientY - drag[1]; apply(); } });
  box.addEventListener("pointerup", () => { drag = null; });
  $(".reset", card).addEventListener("click", () => { fit(); apply(); });
  fit();
  split();
  apply();
}

function wire() {
  const drop = $("#drop");
  drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    [...event.dataTransfer.files].forEach(submit);
  });
  $("#files").addEventListener("change", (event) => { [...event.target.files].forEach(submit); event.target.value = ""; });
}

loadModels().then(wire);
