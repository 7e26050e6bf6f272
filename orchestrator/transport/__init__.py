"""The one seam to providers over HTTP: :mod:`.base` says what a transport does, :mod:`.pool`
does it (keep-alive HTTP/1.1, plain and streamed answers), :mod:`.errors` turns every way
it can fail into an outcome."""
