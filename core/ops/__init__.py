"""Running hoso in production: the configuration doctor (core.ops.doctor)."""
