from __future__ import annotations

import unittest

import app


class OrderTotalTest(unittest.TestCase):
    def test_total_is_quantity_times_price(self) -> None:
        items = [
            {"sku": "tea", "quantity": 2, "priceCents": 350},
            {"sku": "cup", "quantity": 1, "priceCents": 900},
        ]
        self.assertEqual(app.order_total(items), 1600)

    def test_bad_items_name_the_problem(self) -> None:
        cases = [
            ([], "non-empty"),
            ([{"quantity": 1, "priceCents": 1}], "items[0]: sku"),
            ([{"sku": "a", "quantity": 0, "priceCents": 1}], "items[0].quantity"),
            ([{"sku": "a", "quantity": 1, "priceCents": "1"}], "items[0].priceCents"),
        ]
        for items, message in cases:
            with self.subTest(items=items), self.assertRaisesRegex(ValueError, message.replace("[", r"\[")):
                app.order_total(items)


if __name__ == "__main__":
    unittest.main()
