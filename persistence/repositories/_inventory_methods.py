"""The container and item half of ``AsyncPersistenceLayer``: plain delegation to repositories."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from uuid import UUID

from persistence.models import Container, ItemInstance

if TYPE_CHECKING:
    from persistence.repositories.container_repository import ContainerRepository
    from persistence.repositories.item_repository import ItemRepository


class InventoryMethods:
    """Container and item operations of the async facade, delegated to its repositories."""

    @property
    def _containers(self) -> ContainerRepository:
        return self.repos.containers  # type: ignore[attr-defined]

    @property
    def _items(self) -> ItemRepository:
        return self.repos.items  # type: ignore[attr-defined]

    async def create_container(
        self,
        source_type: str,
        *,
        room_id: str | None = None,
        entity_id: UUID | str | None = None,
        owner_id: UUID | str | None = None,
        lock_state: str = "unlocked",
        capacity_slots: int = 20,
        weight_limit: Decimal | None = None,
        decay_at: datetime | None = None,
        metadata: dict[str, Any] | None = None,
        container_id: UUID | str | None = None,
    ) -> Container:
        """Create an empty container."""
        return await self._containers.create_container(
            source_type,
            room_id=room_id,
            entity_id=entity_id,
            owner_id=owner_id,
            lock_state=lock_state,
            capacity_slots=capacity_slots,
            weight_limit=weight_limit,
            decay_at=decay_at,
            metadata=metadata,
            container_id=container_id,
        )

    async def get_container(self, container_id: UUID | str) -> Container | None:
        """The container, or None."""
        return await self._containers.get_container(container_id)

    async def get_containers_by_room_id(self, room_id: str) -> list[Container]:
        """The containers in a room."""
        return await self._containers.get_containers_by_room_id(room_id)

    async def get_containers_by_entity_id(self, entity_id: UUID | str) -> list[Container]:
        """The containers an entity wears."""
        return await self._containers.get_containers_by_entity_id(entity_id)

    async def update_container(
        self,
        container_id: UUID | str,
        *,
        lock_state: str | None = None,
        capacity_slots: int | None = None,
        decay_at: datetime | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Container:
        """Change the given fields of a container."""
        return await self._containers.update_container(
            container_id,
            lock_state=lock_state,
            capacity_slots=capacity_slots,
            decay_at=decay_at,
            metadata=metadata,
        )

    async def get_decayed_containers(self, now: datetime | None = None) -> list[Container]:
        """The containers due to decay."""
        return await self._containers.get_decayed_containers(now)

    async def delete_container(self, container_id: UUID | str) -> None:
        """Delete a container."""
        await self._containers.delete_container(container_id)

    async def add_item_to_container(
        self, container_id: UUID | str, item_instance_id: str
    ) -> Container:
        """Put an item in the container's lowest free slot."""
        return await self._containers.add_item_to_container(container_id, item_instance_id)

    async def remove_item_from_container(
        self, container_id: UUID | str, item_instance_id: str
    ) -> Container:
        """Take an item out of the container."""
        return await self._containers.remove_item_from_container(container_id, item_instance_id)

    async def create_item_instance(
        self,
        item_instance_id: str,
        prototype_id: str,
        *,
        owner_type: str = "none",
        owner_id: str | None = None,
        location_context: str | None = None,
        quantity: int = 1,
        condition: int | None = None,
        custom_name: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> ItemInstance:
        """Create an item instance."""
        return await self._items.create_item_instance(
            item_instance_id,
            prototype_id,
            owner_type=owner_type,
            owner_id=owner_id,
            location_context=location_context,
            quantity=quantity,
            condition=condition,
            custom_name=custom_name,
            metadata=metadata,
        )

    async def ensure_item_instance(
        self,
        item_instance_id: str,
        prototype_id: str,
        *,
        owner_type: str = "none",
        owner_id: str | None = None,
        location_context: str | None = None,
        quantity: int = 1,
        condition: int | None = None,
        custom_name: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> ItemInstance:
        """The existing item instance, unchanged, or a new one."""
        return await self._items.ensure_item_instance(
            item_instance_id,
            prototype_id,
            owner_type=owner_type,
            owner_id=owner_id,
            location_context=location_context,
            quantity=quantity,
            condition=condition,
            custom_name=custom_name,
            metadata=metadata,
        )

    async def get_item_instance(self, item_instance_id: str) -> ItemInstance | None:
        """The item instance, or None."""
        return await self._items.get_item_instance(item_instance_id)

    async def item_instance_exists(self, item_instance_id: str) -> bool:
        """Whether the item instance exists."""
        return await self._items.item_instance_exists(item_instance_id)

    async def delete_item_instance(self, item_instance_id: str) -> None:
        """Delete an item instance."""
        await self._items.delete_item_instance(item_instance_id)

    async def list_item_instances_by_owner(
        self, owner_type: str, owner_id: str
    ) -> list[ItemInstance]:
        """The item instances of one owner."""
        return await self._items.list_item_instances_by_owner(owner_type, owner_id)
