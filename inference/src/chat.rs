//! Chat templates: ChatML (`<|im_start|>role\ncontent<|im_end|>\n`), used by SmolLM2 and Qwen2.5.

/// One turn of a conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatMessage {
    /// `system`, `user` or `assistant`.
    pub role: String,
    /// The turn's text.
    pub content: String,
}

impl ChatMessage {
    /// A message with the given role.
    pub fn new(role: impl Into<String>, content: impl Into<String>) -> Self {
        Self {
            role: role.into(),
            content: content.into(),
        }
    }

    /// A `system` message.
    pub fn system(content: impl Into<String>) -> Self {
        Self::new("system", content)
    }

    /// A `user` message.
    pub fn user(content: impl Into<String>) -> Self {
        Self::new("user", content)
    }

    /// An `assistant` message.
    pub fn assistant(content: impl Into<String>) -> Self {
        Self::new("assistant", content)
    }
}

/// The system prompt SmolLM2's own template inserts when a conversation has none.
pub const SMOLLM2_DEFAULT_SYSTEM: &str =
    "You are a helpful AI assistant named SmolLM, trained by Hugging Face";

/// Renders `messages` as ChatML; with `add_generation_prompt`, ends with the opening of an
/// assistant turn so the model writes the reply. Special tokens are plain text here: the
/// tokenizer recognises them when encoding.
pub fn chatml(messages: &[ChatMessage], add_generation_prompt: bool) -> String {
    let mut out = String::new();
    for message in messages {
        out.push_str("<|im_start|>");
        out.push_str(&message.role);
        out.push('\n');
        out.push_str(&message.content);
        out.push_str("<|im_end|>\n");
    }
    if add_generation_prompt {
        out.push_str("<|im_start|>assistant\n");
    }
    out
}

/// `messages` with a system message in front when the first one is not a system message (what
/// SmolLM2's template does with [`SMOLLM2_DEFAULT_SYSTEM`]).
pub fn with_default_system(messages: &[ChatMessage], system: &str) -> Vec<ChatMessage> {
    let mut out = Vec::with_capacity(messages.len() + 1);
    if messages.first().is_none_or(|m| m.role != "system") {
        out.push(ChatMessage::system(system));
    }
    out.extend_from_slice(messages);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(messages: &[ChatMessage], generation_prompt: bool, expected: &str) {
        assert_eq!(chatml(messages, generation_prompt), expected);
    }

    #[test]
    fn renders_chatml() {
        let conversation = [ChatMessage::system("Be brief."), ChatMessage::user("Hi")];
        check(
            &conversation,
            true,
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n",
        );
        check(
            &[ChatMessage::user("a\nb"), ChatMessage::assistant("c")],
            false,
            "<|im_start|>user\na\nb<|im_end|>\n<|im_start|>assistant\nc<|im_end|>\n",
        );
        check(&[], true, "<|im_start|>assistant\n");
    }

    #[test]
    fn default_system_is_added_only_when_missing() {
        let with = with_default_system(&[ChatMessage::user("q")], SMOLLM2_DEFAULT_SYSTEM);
        assert_eq!(with[0], ChatMessage::system(SMOLLM2_DEFAULT_SYSTEM));
        assert_eq!(with.len(), 2);
        let own = [ChatMessage::system("own"), ChatMessage::user("q")];
        assert_eq!(
            with_default_system(&own, SMOLLM2_DEFAULT_SYSTEM),
            own.to_vec()
        );
    }
}
