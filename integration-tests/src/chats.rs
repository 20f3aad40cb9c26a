//! Chats as a signed-in user sees them: create, read, list, update, delete, and the messages
//! of one.

use reqwest::{Method, Response, StatusCode};
use serde_json::Value;

use crate::{Chat, ChatId, ChatPage, Message, MessageId, SignedIn, client::expect_json, paths};

impl SignedIn {
    /// A new chat with the default title and parameters.
    pub async fn new_chat(&self) -> Chat {
        self.create_chat(serde_json::json!({})).await
    }

    /// `POST /api/chats` with this body (title, parameters), asserting 201.
    pub async fn create_chat(&self, body: Value) -> Chat {
        let response = self.try_create_chat(&body).await;
        Chat::from_json(expect_json(response, StatusCode::CREATED).await)
    }

    pub async fn try_create_chat(&self, body: &Value) -> Response {
        self.raw(Method::POST, paths::CHATS, Some(body)).await
    }

    /// `GET /api/chats/{id}`, asserting 200.
    pub async fn chat(&self, chat: impl AsRef<ChatId>) -> Chat {
        let response = self.try_chat(chat).await;
        Chat::from_json(expect_json(response, StatusCode::OK).await)
    }

    pub async fn try_chat(&self, chat: impl AsRef<ChatId>) -> Response {
        self.get(&paths::chat(chat.as_ref())).await
    }

    /// `PATCH /api/chats/{id}` (title, parameters, the branch on screen), asserting 200.
    pub async fn update_chat(&self, chat: impl AsRef<ChatId>, body: Value) -> Chat {
        let response = self.try_update_chat(chat, &body).await;
        Chat::from_json(expect_json(response, StatusCode::OK).await)
    }

    pub async fn try_update_chat(&self, chat: impl AsRef<ChatId>, body: &Value) -> Response {
        let path = paths::chat(chat.as_ref());
        self.raw(Method::PATCH, &path, Some(body)).await
    }

    /// `DELETE /api/chats/{id}`, asserting 204.
    pub async fn delete_chat(&self, chat: impl AsRef<ChatId>) {
        let response = self.try_delete_chat(chat).await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
    }

    pub async fn try_delete_chat(&self, chat: impl AsRef<ChatId>) -> Response {
        let path = paths::chat(chat.as_ref());
        self.raw(Method::DELETE, &path, None).await
    }

    /// `GET /api/chats?{query}` (`""`, `"limit=3"`, `"q=lisbon"`…), asserting 200.
    pub async fn list_chats(&self, query: &str) -> ChatPage {
        let response = self.try_list_chats(query).await;
        ChatPage::from_json(&expect_json(response, StatusCode::OK).await)
    }

    pub async fn try_list_chats(&self, query: &str) -> Response {
        self.get(&paths::chats(query)).await
    }

    /// `GET /api/chats/{id}/messages`, asserting 200: every message of every branch.
    pub async fn messages(&self, chat: impl AsRef<ChatId>) -> Vec<Message> {
        let response = self.try_messages(chat).await;
        expect_json(response, StatusCode::OK).await["messages"]
            .as_array()
            .expect("messages")
            .iter()
            .cloned()
            .map(Message::from_json)
            .collect()
    }

    pub async fn try_messages(&self, chat: impl AsRef<ChatId>) -> Response {
        self.get(&paths::messages(chat.as_ref())).await
    }

    /// One message as `GET /api/chats/{id}/messages` lists it (panics if it is not listed).
    pub async fn message(&self, chat: impl AsRef<ChatId>, id: impl AsRef<MessageId>) -> Message {
        let id = id.as_ref();
        self.messages(chat)
            .await
            .into_iter()
            .find(|m| m.id == *id)
            .unwrap_or_else(|| panic!("message {id} is not listed"))
    }
}
