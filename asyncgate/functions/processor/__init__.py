"""The processor's Lambda code. A package only so that wheels ship it; the asset leaves this file out."""
