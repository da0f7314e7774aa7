"""`drn serve`: a local web page and its JSON API, over the same request and picture path as the CLI.

Needs the [web] extra (Starlette, uvicorn, python-multipart). Jobs go through `UpscaleRequest`
(the same rules and words as the CLI) and `picture.upscale_picture`, on models loaded once and
shared (`inference.load_upscaler`'s cache). One job runs on the model at a time; the others wait
in a queue. Uploads are limited in bytes and pixels, stored under names the server makes in a
private temporary folder (never the uploaded names), and removed when the server stops.

API (all JSON unless said):
    POST /api/jobs                 multipart: image, and optional model, scale, tta, denoise, compare, adapt -> {"id"}
    GET  /api/jobs/{id}            {"status": queued|running|done|failed, "progress", "error", ...}
    GET  /api/jobs/{id}/result     the upscaled image (PNG; an animated GIF, WebP or PNG upload: the same kind)
    GET  /api/jobs/{id}/input      the uploaded image as decoded (PNG; an animation: the upload itself)
    GET  /api/jobs/{id}/confidence the closed-loop map (PNG; not with tta)
    GET  /api/jobs/{id}/clean      with compare: the clean model's output (PNG); /photo the photo model's
    GET  /api/results.zip?ids=a,b  the results of several jobs
    GET  /api/models               the models the page offers
"""

from __future__ import annotations

import io
import queue
import shutil
import tempfile
import threading
import uuid
import zipfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from .animation import upscale_animation
from .atomic import write_bytes_atomic
from .errors import DrnError, ImageTooLarge, UsageError
from .inference import Upscaler, load_upscaler
from .io import ANIMATION_FORMATS, Picture, encode_image, image_size, looks_like_video, read_image
from .levels import loop_map_picture
from .models.presets import PRESETS, UPSCALE_MODEL, denoise_pair, is_installed
from .picture import upscale_picture
from .request import DEFAULT_ADAPT_STEPS, UpscaleRequest
from .session import Session

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
MAX_UPLOAD_PIXELS = 16_000_000  # an upload's decoded size; larger: 413 (the CLI's limit is 100 MP)


@dataclass
class Job:
    id: str
    name: str                      # the uploaded file's name, shown to the user only
    request: UpscaleRequest
    source: Path                   # where the upload was stored (a name the server made)
    status: str = "queued"
    done: int = 0                  # tiles done of `total`
    total: int = 0
    error: str | None = None
    size_in: tuple[int, int] | None = None
    size_out: tuple[int, int] | None = None
    files: dict[str, Path] = field(default_factory=dict)  # result, input, confidence; clean, photo
    compare: bool = False          # also keep both models' outputs, for the page's cleaning slider
    strength: float | None = None  # the --denoise strength the job ran with
    reason: str | None = None      # why that strength, under --denoise auto
    model: str | None = None       # the model that ran (the blend's pair with a strength)
    frames: int | None = None      # an animated GIF, WebP or PNG upload's frames, all upscaled into the result
    animated: int | None = None    # another animated upload's (a multi-page TIFF's) frames: only the first upscaled
    adapted: str | None = None     # with adapt: what adapting to the picture did, in words

    def to_dict(self) -> dict:
        progress = self.done / self.total if self.total else (1.0 if self.status == "done" else 0.0)
        return {"id": self.id, "name": self.name, "status": self.status, "progress": round(progress, 3),
                "error": self.error, "model": self.model or self.request.model_name, "denoise": self.strength,
                "denoise_reason": self.reason,
                "size_in": self.size_in, "size_out": self.size_out, "frames": self.frames, "animated": self.animated,
                "confidence": "confidence" in self.files, "adapted": self.adapted,
                "compare": "clean" in self.files}


class Jobs:
    """The job table and the one worker thread that runs them in order on the model."""

    def __init__(self, folder: Path, device: str = "auto", precision: str = "auto", backend: str | None = None) -> None:
        self.folder, self.device, self.precision = folder, device, precision
        # the confidence map needs torch's model (its dual blocks); on OpenVINO the page goes without it
        from .device import backend_option, resolve_backend, resolve_device

        self.backend = backend_option(backend)
        self.map = resolve_backend(self.backend, resolve_device(device), precision) == "torch"
        self.table: dict[str, Job] = {}
        self.waiting: queue.Queue[Job | None] = queue.Queue()
        self.stopping = threading.Event()
        self.worker = threading.Thread(target=self._work, name="drn-serve-worker", daemon=True)
        self.worker.start()

    def submit(self, data: bytes, name: str, model: str | None, scale: int | None, tta: bool,
               denoise: float | str | None = None, compare: bool = False, adapt: bool = False) -> Job:
        """A queued job for an upload; UsageError for options the CLI would refuse (and for
        `compare` without a clean and photo pair), DrnError for a file that is no image (both
        before it is queued)."""
        if model is not None and (model not in PRESETS or (PRESETS[model].url and not is_installed(model))):
            offered = ", ".join(m["name"] for m in models())
            raise UsageError(f"model {model[:40]!r}: not a model this page offers; choose one of {offered} "
                             "(weights files, and third-party models not yet downloaded, are for drn upscale --model)")
        request = UpscaleRequest(model, scale, tta=tta, confidence=not tta and (self.map or adapt), device=self.device,
                                 precision=self.precision, denoise=denoise, backend=self.backend,
                                 adapt_steps=DEFAULT_ADAPT_STEPS if adapt else 0)
        if compare and denoise_pair(request.model_name) is None:
            raise UsageError(f"compare shows a clean and a photo model of one scale; {request.model_name} has no "
                             "partner (choose auto, or a model with a partner)")
        job_id = uuid.uuid4().hex[:16]
        source = self.folder / f"{job_id}.upload{_animation_suffix(data)}"
        source.write_bytes(data)
        try:
            w, h = image_size(source)  # the header first: a decompression bomb is never decoded
            if w * h > MAX_UPLOAD_PIXELS:
                raise TooLarge(f"{name}: {w}x{h} is more than {MAX_UPLOAD_PIXELS / 1e6:.0f} megapixels; "
                               "upscale it with the drn command instead")
            read_image(source)
        except DrnError as exc:
            is_video = not isinstance(exc, (TooLarge, ImageTooLarge)) and looks_like_video(source)
            source.unlink(missing_ok=True)
            if is_video:
                raise UsageError(f"{name}: a video; videos are upscaled in a terminal: drn upscale {name} "
                                 "(this page takes pictures)") from None
            raise type(exc)(str(exc).replace(str(source), name)) from None
        job = Job(job_id, name, request, source, size_in=(w, h), compare=compare)
        self.table[job_id] = job
        self.waiting.put(job)
        return job

    def _work(self) -> None:
        while (job := self.waiting.get()) is not None:
            job.status = "running"
            try:
                self._run(job)
                job.status = "done"
            except DrnError as exc:
                job.status, job.error = "failed", str(exc).replace(str(job.source), job.name)
            except Exception as exc:  # noqa: BLE001 - a failed job never stops the server
                job.status, job.error = "failed", f"{job.name}: {type(exc).__name__}: {exc}"

    def _run(self, job: Job) -> None:
        request = job.request
        picture = read_image(job.source)
        session = Session(request)
        upscaler = session.upscaler(picture.size, picture)  # an animation's: by its first frame
        job.model, job.strength, job.reason = upscaler.model.name, upscaler.model.strength, upscaler.model.reason
        suffix = {fmt: suffix for suffix, fmt in ANIMATION_FORMATS.items()}.get(picture.format)
        if picture.frames > 1 and suffix:
            job.adapted = "not adapted: adapting is for still pictures" if request.adapt_steps else None
            return self._run_animation(job, upscaler, suffix)
        job.animated = picture.frames if picture.frames > 1 else None  # a multi-page TIFF: its first page
        # compare: the clean and the photo model by name; the one that just ran (auto's choice, or
        # the named model) is kept, the other runs after it, and its passes count in the progress
        ends = dict(zip(("clean", "photo"), denoise_pair(request.model_for(*picture.size)))) if job.compare else {}
        missing = [what for what, name in ends.items() if name != job.model]
        passes, finished = 1 + len(missing), 0

        def progress(done: int, total: int) -> None:
            self._check_stopping()
            job.done, job.total = finished * total + done, passes * total

        def adapting(done: int, steps: int) -> None:  # adapting counts as one pass more, in steps
            self._check_stopping()
            job.done, job.total = done, steps * passes

        if request.adapt_steps:
            passes, finished = passes + 1, 1
        out, _, job.adapted = session.upscale(picture, progress, adapting)
        job.size_out = out.final.size
        job.files["result"] = self._save(job, "result", out.final)
        job.files["input"] = self._save(job, "input", Picture(picture.pixels, picture.alpha, "PNG"))
        if out.loop is not None:
            job.files["confidence"] = self._save(job, "confidence", loop_map_picture(out.loop, out.final.size))
        for what, name in ends.items():
            if name == job.model:
                job.files[what] = job.files["result"]
                job.strength = 0.0 if what == "clean" else 1.0  # the slider's start, also for a named model
        for what in missing:
            finished += 1
            end = upscale_picture(picture, load_upscaler(ends[what], request.device, request.precision,
                                                         backend=request.model_backend),
                                  request.run, request.output, progress)
            job.files[what] = self._save(job, what, end.final)

    def _run_animation(self, job: Job, upscaler: Upscaler, suffix: str) -> None:
        """An animated upload: every frame into the same kind of animation (animation.py); the
        upload itself is its input; no confidence map or model comparison."""
        def progress(done: int, total: int) -> None:
            self._check_stopping()
            job.done, job.total = done, total

        result = self.folder / f"{job.id}.result{suffix}"
        _, job.size_out, job.frames = upscale_animation(job.source, result, upscaler, job.request.run,
                                                        job.request.output.final_only(), on_frame=progress)
        job.files.update(result=result, input=job.source)
        job.compare = False

    def _save(self, job: Job, what: str, picture: Picture) -> Path:
        path = self.folder / f"{job.id}.{what}.png"
        write_bytes_atomic(path, encode_image(picture, "PNG"), overwrite=True)
        return path

    def _check_stopping(self) -> None:
        """Called between tiles and frames: a server that is stopping cancels the running job there."""
        if self.stopping.is_set():
            raise Cancelled("the server stopped before this job finished")

    def stop(self, seconds: float = 30) -> None:
        """Cancel the running job at its next tile, drop the queued ones and wait for the worker:
        a process that exits while the worker is inside the model aborts (SIGABRT from C++)."""
        self.stopping.set()
        while True:
            try:
                self.waiting.get_nowait()
            except queue.Empty:
                break
        self.waiting.put(None)
        self.worker.join(seconds)


def _animation_suffix(data: bytes) -> str:
    """The suffix an upload is stored under: that of a format which can hold an animation (GIF,
    WebP, PNG), told from its first bytes, so an animated upload is served as itself; "" for any
    other (the pixels decide the rest)."""
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return ".gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return ".webp"
    return ".png" if data[:8] == b"\x89PNG\r\n\x1a\n" else ""


class TooLarge(DrnError):
    """An upload over the byte or pixel limit (HTTP 413)."""


class Cancelled(DrnError):
    """A job stopped because the server is stopping."""


def models() -> list[dict]:
    """The installed models the page offers, the photo model first (a job without a model gets
    the clean, the photo or the blur model per picture, --denoise auto)."""
    names = [UPSCALE_MODEL] + [n for n in PRESETS if n != UPSCALE_MODEL]
    return [{"name": n, "scale": PRESETS[n].scale, "use": PRESETS[n].use} for n in names if is_installed(n)]


def create_app(device: str = "auto", precision: str = "auto", max_upload_bytes: int = MAX_UPLOAD_BYTES,
               backend: str | None = None):
    """The Starlette app: the page, its static files and the API; its temporary folder is removed
    when the app shuts down."""
    import contextlib

    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import ClientDisconnect, Request
    from starlette.responses import FileResponse, JSONResponse, Response
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    static = resources.files("drn_cli") / "web_static"
    state: dict[str, Jobs] = {}

    def error(status: int, message: str) -> JSONResponse:
        return JSONResponse({"error": message}, status_code=status)

    def find(request: Request) -> Job | None:
        return state["jobs"].table.get(request.path_params["job_id"])

    async def index(request: Request) -> Response:
        return FileResponse(str(static / "index.html"))

    async def list_models(request: Request) -> Response:
        return JSONResponse(models())

    async def create_job(request: Request) -> Response:
        declared = request.headers.get("content-length", "")
        length = int(declared) if declared.isdigit() else 0
        if length > max_upload_bytes:
            return error(413, f"the upload is {length / 2**20:.1f} MiB; at most {max_upload_bytes / 2**20:.0f} MiB")
        try:
            form = await request.form(max_files=1, max_fields=8)
        except ClientDisconnect:
            return error(400, "the upload was cut off before its end")
        upload = form.get("image")
        if upload is None or isinstance(upload, str):
            return error(400, "send the image as the multipart field 'image'")
        try:
            data = await upload.read(max_upload_bytes + 1)
        except ClientDisconnect:
            return error(400, "the upload was cut off before its end")
        if len(data) > max_upload_bytes:
            return error(413, f"the upload is larger than {max_upload_bytes / 2**20:.0f} MiB")
        name = Path(upload.filename or "upload").name[:120]
        try:
            scale = int(form["scale"]) if form.get("scale") else None
            denoise = form.get("denoise") or None
            # in a thread: the upload is written and decoded (checked) there, and the page's
            # progress polls for other jobs must not wait on that
            job = await run_in_threadpool(state["jobs"].submit, data, name, form.get("model") or None, scale,
                                          form.get("tta") in ("1", "true", "on"), denoise,
                                          form.get("compare") in ("1", "true", "on"), form.get("adapt") in ("1", "true", "on"))
        except ValueError:
            return error(400, f"scale must be 2, 4 or 8 and denoise auto or a number from 0 to 1, got "
                              f"{form.get('scale')!r} and {form.get('denoise')!r}")
        except (TooLarge, ImageTooLarge) as exc:
            return error(413, str(exc))
        except (UsageError, DrnError) as exc:
            return error(400, str(exc))
        return JSONResponse({"id": job.id}, status_code=201)

    async def job_status(request: Request) -> Response:
        job = find(request)
        return JSONResponse(job.to_dict()) if job else error(404, "no such job")

    def file_of(what: str):
        async def serve(request: Request) -> Response:
            job = find(request)
            if job is None:
                return error(404, "no such job")
            if what not in job.files:
                waiting = job.status in ("queued", "running")
                return error(409 if waiting else 404, f"no {what} for this job ({job.status}"
                             + (f": {job.error})" if job.error else ")"))
            path, suffix = job.files[what], "upscaled" if what == "result" else what
            return FileResponse(str(path), media_type=f"image/{path.suffix.lstrip('.')}",
                                filename=f"{Path(job.name).stem}_{suffix}{path.suffix}")
        return serve

    async def results_zip(request: Request) -> Response:
        jobs = [state["jobs"].table.get(i) for i in request.query_params.get("ids", "").split(",") if i]
        done = [j for j in jobs if j is not None and "result" in j.files]
        if not done:
            return error(404, "no finished job among ids")
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
            for k, job in enumerate(done):
                result = job.files["result"]
                archive.write(result, f"{k + 1:02d}_{Path(job.name).stem}_upscaled{result.suffix}")
        return Response(buffer.getvalue(), media_type="application/zip",
                        headers={"Content-Disposition": 'attachment; filename="drn-results.zip"'})

    @contextlib.asynccontextmanager
    async def lifespan(app):
        folder = Path(tempfile.mkdtemp(prefix="drn-serve-"))
        state["jobs"] = Jobs(folder, device, precision, backend)
        try:
            yield
        finally:
            state["jobs"].stop()
            shutil.rmtree(folder, ignore_errors=True)

    routes = [
        Route("/", index),
        Route("/api/models", list_models),
        Route("/api/jobs", create_job, methods=["POST"]),
        Route("/api/jobs/{job_id}", job_status),
        Route("/api/jobs/{job_id}/result", file_of("result")),
        Route("/api/jobs/{job_id}/input", file_of("input")),
        Route("/api/jobs/{job_id}/confidence", file_of("confidence")),
        Route("/api/jobs/{job_id}/clean", file_of("clean")),
        Route("/api/jobs/{job_id}/photo", file_of("photo")),
        Route("/api/results.zip", results_zip),
        Mount("/static", StaticFiles(directory=str(static)), name="static"),
    ]
    return Starlette(routes=routes, lifespan=lifespan)


def is_local(host: str) -> bool:
    return host in ("127.0.0.1", "localhost", "::1") or host.startswith("127.")


def run_server(app, host: str, port: int) -> None:
    """Serve `app` until Ctrl-C or SIGTERM, then return normally (the command exits 0). uvicorn's
    own handler would raise the signal again after its graceful shutdown."""
    import signal

    import uvicorn

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame) -> None:
            if self.should_exit and sig == signal.SIGINT:
                self.force_exit = True  # a second Ctrl-C: stop waiting for open connections
            self.should_exit = True

    Server(uvicorn.Config(app, host=host, port=port, log_level="warning")).run()
