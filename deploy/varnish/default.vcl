# The edge in front of the four services (Varnish 7 with varnish-modules' xkey and accept).
#
# The origin decides what is cached and for how long: `Surrogate-Control` (max-age, and
# stale-if-error as the grace) for the edge, `Cache-Control` passed on to clients, and
# `Surrogate-Key` stored as xkeys so that the purger's soft purges drop exactly what a
# change affects. Backends and the addresses allowed to purge are site settings, in
# backends.vcl next to this file (Kubernetes: the ConfigMap; the local stack writes its own).
vcl 4.1;

import std;
import xkey;
import accept;

include "backends.vcl";

sub vcl_init {
    # PEP 691's variants of /simple/ pages. Clients list what they accept; the first of these
    # that a request names wins (pip, uv, poetry list JSON first; browsers name text/html), so
    # their many Accept headers share three cache objects. Fallback: HTML, as for */*.
    new simple_formats = accept.rule("text/html");
    simple_formats.add("application/vnd.pypi.simple.v1+json");
    simple_formats.add("application/vnd.pypi.simple.v1+html");
    simple_formats.add("text/html");
}

sub vcl_recv {
    # One request id from the client (or made here) to the origin's log line and back: a cached
    # object keeps the id of the request that filled it, which must not reach another client.
    if (req.http.X-Request-ID !~ "^[A-Za-z0-9-]{1,64}$") {
        set req.http.X-Request-ID = "edge-" + req.xid;
    }
    if (req.method == "PURGE") {
        # Purges arrive on the listening socket named "purge" (Kubernetes and compose: port 8081,
        # which only the purger may reach), or from an address in `acl purgers`.
        if (local.socket != "purge" && client.ip !~ purgers) {
            return (synth(405, "Method Not Allowed"));
        }
        if (!req.http.xkey) {
            return (synth(400, "Name the keys to purge in an xkey header"));
        }
        set req.http.n-gone = xkey.softpurge(req.http.xkey);
        return (synth(200, "Invalidated " + req.http.n-gone + " objects"));
    }

    # Route by path, as each service's PATH_PREFIXES declares.
    if (req.url ~ "^/(legacy|api/projects)(/|\?|$)") {
        set req.backend_hint = upload;
    } elseif (req.url ~ "^/(api/account|_/oidc)(/|\?|$)") {
        set req.backend_hint = accounts;
    } elseif (req.url ~ "^/(api/search|search)(/|\?|$)") {
        set req.backend_hint = search;
    } else {
        set req.backend_hint = simple;
    }

    # Writes, uploads and everything of the accounts and upload services go straight through,
    # bodies streamed (an upload may be a gigabyte: the upload backend has long timeouts).
    if (req.method != "GET" && req.method != "HEAD") {
        return (pass);
    }
    if (req.backend_hint == upload || req.backend_hint == accounts || req.http.Authorization
            || req.url ~ "^/api/changelog/stream") {  # a live event stream is each client's own
        return (pass);
    }
    unset req.http.Cookie;  # reads do not depend on cookies; a browser's must not split the cache

    # Every spelling of a project name is one object: PEP 503's normalised form.
    if (req.url ~ "^/(simple|pypi)/[^/?]+") {
        set req.http.x-name = regsub(req.url, "^/(simple|pypi)/([^/?]+).*$", "\2");
        set req.http.x-name = std.tolower(regsuball(req.http.x-name, "[-_.]+", "-"));
        set req.url = regsub(req.url, "^/(simple|pypi)/[^/?]+", "/\1/" + req.http.x-name);
        unset req.http.x-name;
    }
    if (req.url ~ "^/simple(/|$)") {
        set req.http.Accept = simple_formats.filter(req.http.Accept);
    } else {
        unset req.http.Accept;  # nothing else varies by it
    }

    # While the origin is healthy, an expired or purged page is fetched again before it is
    # served (concurrent misses wait for that one fetch); stale is served when it is down, or
    # when it answered this request with an error (vcl_deliver restarts it to look again).
    if (req.http.x-origin-failed) {
        set req.grace = 3650d;  # no limit of ours (req.grace outlives a restart): the object's own grace
    } elseif (std.healthy(req.backend_hint)) {
        set req.grace = 0s;
    }
    set req.http.x-cacheable = "1";
    return (hash);
}

sub vcl_hash {
    hash_data(req.url);  # not the Host: every name the edge answers to shares the cache
    return (lookup);
}

sub vcl_backend_fetch {
    unset bereq.http.x-cacheable;  # the edge's own bookkeeping, not the origin's business
    unset bereq.http.x-origin-failed;
}

sub vcl_backend_response {
    if (bereq.uncacheable) {
        return (deliver);
    }
    if (beresp.status >= 500) {
        # Keep what is cached: storing even an uncacheable answer would push the stale copy out.
        # The client side then serves that copy, or a clean 503 (vcl_synth).
        return (abandon);
    }
    if (beresp.http.Set-Cookie || (beresp.status != 200 && beresp.status != 301 && beresp.status != 308
            && beresp.status != 404 && beresp.status != 410) || !beresp.http.Surrogate-Control) {
        # Errors (a cached 5xx would outlive the fault), personal responses, and anything the
        # origin did not mark for the edge.
        set beresp.uncacheable = true;
        set beresp.ttl = 0s;
        return (deliver);
    }
    set beresp.ttl = std.duration(regsub(beresp.http.Surrogate-Control,
                                         "^(.*[ ,])?max-age=([0-9]+).*$", "\2s"), 0s);
    if (beresp.http.Surrogate-Control ~ "stale-if-error=[0-9]+") {
        set beresp.grace = std.duration(regsub(beresp.http.Surrogate-Control,
                                               "^.*stale-if-error=([0-9]+).*$", "\1s"), 0s);
    } else {
        set beresp.grace = 1h;
    }
    set beresp.keep = 1h;
    set beresp.http.xkey = beresp.http.Surrogate-Key;
    unset beresp.http.Surrogate-Control;
    return (deliver);
}

sub vcl_backend_error {
    # The origin is down or hung: as with a 5xx, keep what is cached and let the client side
    # serve it, or a clean 503.
    return (abandon);
}

sub vcl_deliver {
    set resp.http.X-Request-ID = req.http.X-Request-ID;
    if (obj.hits > 0) {
        set resp.http.X-Cache = "HIT";
    } else {
        set resp.http.X-Cache = "MISS";
    }
    unset resp.http.xkey;
    unset resp.http.Surrogate-Key;
    unset resp.http.Surrogate-Control;
    unset resp.http.Via;
    unset resp.http.X-Varnish;
}

sub vcl_synth {
    if (resp.status == 503 && req.restarts == 0 && req.http.x-cacheable) {
        # The origin failed this read although its probe may be healthy (its database down, say):
        # look again, this time taking a stale copy within its stale-if-error grace.
        set req.http.x-origin-failed = "1";
        return (restart);
    }
    set resp.http.Cache-Control = "no-store";
    set resp.http.X-Cache = "MISS";
    if (resp.status == 503) {
        set resp.http.Content-Type = "application/json";
        set resp.http.Retry-After = "5";
        set resp.body = {"{"error": {"code": "ServiceUnavailable", "message": "The index is unavailable; try again shortly.", "details": {}}}"};
        return (deliver);
    }
}
