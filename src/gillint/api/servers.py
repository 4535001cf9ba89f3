"""Servers and libraries that run the project's code on threads they start, by qualified name.

Request handlers of a threading server, a WSGI application served by a multi-threaded server, a
``threading.Timer`` callback: the project never calls ``Thread(...)`` for them, yet they run on
threads. :mod:`gillint.facts.threads` turns these tables into thread entry points.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

#: Ready-made servers that handle each request on a thread of its own (``socketserver.ThreadingMixIn``).
THREADING_SERVERS = frozenset({
    "socketserver.ThreadingMixIn",
    "socketserver.ThreadingTCPServer",
    "socketserver.ThreadingUDPServer",
    "socketserver.ThreadingUnixStreamServer",
    "socketserver.ThreadingUnixDatagramServer",
    "http.server.ThreadingHTTPServer",
})

#: Methods of a ``socketserver`` request handler that run on the request's thread (``do_GET`` and the
#: other ``do_<METHOD>`` of ``http.server`` handlers are added by prefix).
HANDLER_METHODS = ("setup", "handle", "finish", "handle_one_request")
HANDLER_PREFIX = "do_"
#: The handler's attribute that holds the server: one object that every request shares.
HANDLER_SERVER_ATTRIBUTE = "server"

#: Methods of a threading server that run on each request's thread (``ThreadingMixIn.process_request``
#: starts a thread that runs ``process_request_thread``, which calls the others).
SERVER_REQUEST_METHODS = ("process_request_thread", "finish_request", "handle_error", "shutdown_request",
                          "close_request")
#: Methods of a threading server that run on the serving thread, beside the request threads.
SERVER_LOOP_METHODS = ("verify_request", "service_actions", "handle_timeout")

#: Methods of a threading (XML-RPC, WSGI) server that register code its request threads run:
#: ``register_function(f)`` runs ``f``; ``register_instance(obj)`` and ``set_app(app)`` run ``obj``'s methods.
SERVER_REGISTRATIONS = {"register_function": False, "register_instance": True, "set_app": True}


@dataclass(frozen=True)
class ServingCall:
    """A library call that runs a callable it receives on several threads it starts."""

    #: The parameter that receives the callable, and its position.
    parameter: str
    position: int
    #: The threads that run it, for messages (``worker threads`` of ``waitress.serve``).
    threads: str
    #: A keyword that must be given as ``True`` (``run_simple(..., threaded=True)``); None when always.
    when: Optional[str] = None
    #: A keyword naming the server class, which must be a threading server (``make_server(server_class=...)``).
    server_class: Optional[str] = None


#: Calls that serve a WSGI application or a connection handler from a pool of threads.
SERVING_CALLS = {
    "waitress.serve": ServingCall("app", 0, "worker threads"),
    "waitress.create_server": ServingCall("application", 0, "worker threads"),
    "waitress.server.create_server": ServingCall("application", 0, "worker threads"),
    "cheroot.wsgi.Server": ServingCall("wsgi_app", 1, "worker threads"),
    "cheroot.wsgi.WSGIServer": ServingCall("wsgi_app", 1, "worker threads"),
    "websockets.sync.server.serve": ServingCall("handler", 0, "connection threads"),
    "werkzeug.serving.run_simple": ServingCall("application", 2, "request threads", when="threaded"),
    "werkzeug.serving.make_server": ServingCall("app", 2, "request threads", when="threaded"),
    "wsgiref.simple_server.make_server": ServingCall("app", 2, "request threads", server_class="server_class"),
}

#: Words a file mentions when a server or library may run its code on threads (for the prefilter):
#: a threading server (``ThreadingMixIn``, ``ThreadingHTTPServer``...), a serving library, a future's
#: callback, or a lock being made (code that makes a lock expects threads).
SERVING_WORDS = ("Threading", "add_done_callback", "waitress", "cheroot", "websockets", "werkzeug", "Lock(")
#: The threading servers' names: a block that mentions one may start request threads when called.
SERVER_NAMES = tuple(sorted(name.rpartition(".")[2] for name in THREADING_SERVERS))

#: ``gevent.monkey.patch_all()`` and friends: the module's "threads" become greenlets, which switch only
#: where they wait, never between a read and the write that follows it.
MONKEY_PATCHES = frozenset({
    "gevent.monkey.patch_all", "gevent.monkey.patch_thread", "eventlet.monkey_patch",
    "eventlet.patcher.monkey_patch",
})
