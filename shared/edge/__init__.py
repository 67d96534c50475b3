"""The edge cache (Varnish): its VCL lives in ``deploy/varnish/``; this package renders the site
settings the VCL includes and runs varnishd for the local stack and the tests."""
