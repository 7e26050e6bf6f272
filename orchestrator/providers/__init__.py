"""Provider adapters: one per wire format, translating our OpenAI-shaped request both ways."""
