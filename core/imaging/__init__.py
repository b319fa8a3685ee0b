"""Images for people: decoding uploads, synthetic images, the seeds' worked examples."""
