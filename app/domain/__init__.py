"""Pure domain logic: no Flask, no database session. Time and keys are passed in."""
