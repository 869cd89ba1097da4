"""The app's routes (Starlette): the page and its assets from memory, pictures, runs, progress as server-sent
events, previews, results and the gallery. Every picture and run is named by an id the app made; nothing a
request says is used as a path."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from importlib import resources

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tf_nst.config import StyleTransferConfig
from tf_nst.errors import ConfigError, ImageError
from tf_nst.web.jobs import FINAL, Job, Worker
from tf_nst.web.pictures import Pictures
from tf_nst.web.settings import config_from_form, controls

ASSET_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
MAX_UPLOAD_BYTES = 256 * 2**20  # a request larger than this is refused before it is read
TICK = 0.2  # seconds between looks at a run's state, for its event stream
HEARTBEAT = 2.0  # seconds of silence after which the stream says it is alive (and notices a closed tab)
NO_STORE = {"Cache-Control": "no-store"}


def assets() -> dict[str, tuple[bytes, str]]:
    """The page's files, read once from the package: name to (bytes, media type)."""
    files = resources.files("tf_nst.web") / "static"
    found = {}
    for entry in files.iterdir():
        suffix = entry.name[entry.name.rfind(".") :]
        if suffix in ASSET_TYPES or entry.name == "index.html":
            found[entry.name] = (entry.read_bytes(), ASSET_TYPES.get(suffix, "text/html"))
    return found


def error(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": message}, status)


def create_app(base: StyleTransferConfig, preview_seconds: float = 2.0, closing: threading.Event | None = None):
    """The app, with ``base`` giving the controls' defaults and every other setting; ``closing`` (set when the
    server stops) ends the event streams. The worker and the uploads' directory live as long as the app runs
    (its lifespan); they are ``app.state.worker`` and ``app.state.pictures``."""
    files = assets()
    closing = closing or threading.Event()

    def state(request: Request) -> tuple[Worker, Pictures]:
        return request.app.state.worker, request.app.state.pictures

    def job_of(request: Request) -> Job | None:
        return state(request)[0].jobs.get(request.path_params["job_id"])

    async def page(request: Request) -> Response:
        return HTMLResponse(files["index.html"][0], headers=NO_STORE)

    async def asset(request: Request) -> Response:
        found = files.get(request.path_params["name"])
        return Response(found[0], media_type=found[1]) if found else error("no such file", 404)

    async def settings(request: Request) -> Response:
        return JSONResponse({"controls": controls(base), "max_pixels": base.max_input_pixels})

    async def pictures(request: Request) -> Response:
        return JSONResponse(state(request)[1].listing())

    async def thumbnail(request: Request) -> Response:
        try:
            picture = state(request)[1].get(request.path_params["picture_id"])
        except KeyError:
            return error("no such picture", 404)
        return Response(picture.thumbnail, media_type="image/png")

    async def upload(request: Request) -> Response:
        size = request.headers.get("content-length", "")
        if size.isdigit() and int(size) > MAX_UPLOAD_BYTES:
            return error(f"The file is larger than {MAX_UPLOAD_BYTES // 2**20} MB.", 413)
        try:
            async with request.form(max_files=1, max_fields=4) as form:
                file, kind = form.get("file"), form.get("kind", "photo")
                if file is None or isinstance(file, str):
                    return error("No file was sent.")
                data, name = await file.read(), file.filename
        except Exception:  # not a form at all, or a broken one
            return error("The upload could not be read; choose the file again.")
        try:
            picture = await run_in_threadpool(state(request)[1].add, data, name, str(kind))
        except ImageError as err:
            return error(str(err))
        return JSONResponse(picture.listing())

    async def start(request: Request) -> Response:
        worker, known = state(request)
        form = await request.form(max_files=0)
        fields = {name: str(value) for name, value in form.items()}
        try:
            photo = known.get(fields.get("photo", ""), "photo")
            paintings = [known.get(i, "painting") for i in fields.get("paintings", "").split(",") if i]
        except KeyError:
            return error("That picture is no longer known; choose it again.")
        if not paintings:
            return error("Choose at least one painting.")
        try:
            weights = tuple(float(w) for w in fields.get("weights", "").split(",") if w)
            if len(weights) != len(paintings):
                raise ConfigError("give one blend weight per painting")
            config = config_from_form(base, fields, weights)
        except ValueError as err:
            return error(str(err) if isinstance(err, ConfigError) else "Blend: expected numbers.")
        job = Job(config, photo, paintings)
        worker.submit(job)
        return JSONResponse(job.status(worker.place(job)))

    async def status(request: Request) -> Response:
        job = job_of(request)
        return JSONResponse(job.status(state(request)[0].place(job))) if job else error("no such run", 404)

    async def events(request: Request) -> Response:
        worker, _ = state(request)
        job = job_of(request)
        if job is None:
            return error("no such run", 404)

        async def stream():
            sent, quiet = None, 0.0
            try:
                while not closing.is_set():
                    now = json.dumps(job.status(worker.place(job)))
                    if now != sent:
                        yield f"data: {now}\n\n"
                        sent, quiet = now, 0.0
                        if job.state in FINAL:
                            return
                    elif quiet >= HEARTBEAT:
                        yield ": running\n\n"
                        quiet = 0.0
                    await asyncio.sleep(TICK)
                    quiet += TICK
            finally:
                if job.state not in FINAL:  # the page went away (its tab was closed): its run stops
                    worker.stop(job)

        return StreamingResponse(stream(), media_type="text/event-stream", headers=NO_STORE)

    async def stop(request: Request) -> Response:
        job = job_of(request)
        if job is None:
            return error("no such run", 404)
        state(request)[0].stop(job)
        return JSONResponse({"id": job.id})

    async def preview(request: Request) -> Response:
        job = job_of(request)
        if job is None or job.preview is None:
            return error("no preview yet", 404)
        return Response(job.preview, media_type="image/png", headers=NO_STORE)

    async def result(request: Request) -> Response:
        job = job_of(request)
        if job is None or job.result is None:
            return error("no result yet", 404)
        disposition = f'attachment; filename="tf_nst-{job.id}.png"'
        return Response(job.result, media_type="image/png", headers={"Content-Disposition": disposition})

    async def gallery(request: Request) -> Response:
        worker, _ = state(request)
        return JSONResponse([job.status(0) for job in reversed(worker.finished)])

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        app.state.pictures = Pictures(base.max_input_pixels)
        app.state.worker = Worker(app.state.pictures, preview_seconds)
        try:
            yield
        finally:
            closing.set()
            app.state.worker.close()
            app.state.pictures.close()

    routes = [
        Route("/", page),
        Route("/assets/{name}", asset),
        Route("/api/settings", settings),
        Route("/api/pictures", pictures),
        Route("/api/pictures", upload, methods=["POST"]),
        Route("/api/pictures/{picture_id}/thumbnail.png", thumbnail),
        Route("/api/jobs", start, methods=["POST"]),
        Route("/api/jobs/{job_id}", status),
        Route("/api/jobs/{job_id}/events", events),
        Route("/api/jobs/{job_id}/stop", stop, methods=["POST"]),
        Route("/api/jobs/{job_id}/preview.png", preview),
        Route("/api/jobs/{job_id}/result.png", result),
        Route("/api/gallery", gallery),
    ]
    return Starlette(routes=routes, lifespan=lifespan)
