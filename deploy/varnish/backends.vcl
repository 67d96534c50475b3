# Site settings of the edge for Kubernetes: the four services by their Service names, and who
# may purge (the purger's pods). The local stack and the tests write their own copy of this file.

probe readyz {
    .url = "/readyz";  # fails while a pod drains or cannot reach its database
    .interval = 1s;
    .timeout = 1s;
    .window = 3;
    .threshold = 2;
    .initial = 2;  # healthy from the start, not only after the first probes
}

backend simple { .host = "simple"; .port = "8000"; .probe = readyz; .connect_timeout = 1s; .first_byte_timeout = 10s; }
backend search { .host = "search"; .port = "8000"; .probe = readyz; .connect_timeout = 1s; .first_byte_timeout = 10s; }
backend accounts { .host = "accounts"; .port = "8000"; .probe = readyz; .connect_timeout = 1s; .first_byte_timeout = 30s; }
backend upload {
    .host = "upload"; .port = "8000"; .probe = readyz;
    .connect_timeout = 1s; .first_byte_timeout = 600s; .between_bytes_timeout = 600s;  # large uploads
}

# Purges arrive on the socket named "purge" (port 8081), which only the purger's pods may reach;
# on the client socket, no address in the cluster may purge (an ingress forwarding the public
# would be one).
acl purgers {
    "127.0.0.1";
}
